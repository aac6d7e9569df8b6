def main():
    return lambda: 1
