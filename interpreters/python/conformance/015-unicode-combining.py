# str is a sequence of code points.
def measure(s):
    return [s, len(s)]
