def gather(a, b, c, d):
    return [d, c, b, a]
