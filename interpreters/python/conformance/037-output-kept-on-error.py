def main():
    print("before")
    raise RuntimeError("raised after printing")
