def main():
    return {"a": [1, -float("inf")]}
