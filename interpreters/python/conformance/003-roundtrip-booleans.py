def pair(a, b):
    return [b, a]
