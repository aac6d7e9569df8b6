# A builtins attribute or a sys attribute would show in the counter if either survived a call.
import builtins
import sys

builtins.polyeval_counter = getattr(builtins, "polyeval_counter", 0) + 1
counter = builtins.polyeval_counter + (100 if hasattr(sys, "polyeval_polluted") else 0)
sys.polyeval_polluted = True


def main():
    return counter
