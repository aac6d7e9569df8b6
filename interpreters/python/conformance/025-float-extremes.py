def echo(value):
    return value
