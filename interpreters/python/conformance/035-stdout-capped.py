import itertools


def main():
    for i in itertools.count():
        print(f"line {i}")
