function answer() {
  return 42;
}
