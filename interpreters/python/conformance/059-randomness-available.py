import random


def main():
    draws = [random.random() for _ in range(20)]
    return all(0 <= x < 1 for x in draws) and len(set(draws)) > 1
