var main = 42;
