def main():
    return "x" * 5000
