# One call into C that runs for hours and never checks for interrupts.
def main():
    return sum(range(10**15))
