def main():
    print("before")
    while True:
        pass
