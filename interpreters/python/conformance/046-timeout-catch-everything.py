# Catches KeyboardInterrupt too (BaseException): the host must stop it from outside.
def main():
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
