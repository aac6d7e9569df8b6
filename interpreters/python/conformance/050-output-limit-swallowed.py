def main():
    while True:
        try:
            print("y" * 100)
        except BaseException:
            pass
