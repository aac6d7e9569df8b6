def pow2(n):
    return 2**n
