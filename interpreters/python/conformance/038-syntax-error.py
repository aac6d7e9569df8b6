def main():
    return 1 +
