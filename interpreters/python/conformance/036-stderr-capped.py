import itertools
import sys


def main():
    for i in itertools.count():
        print(f"line {i}", file=sys.stderr)
