import datetime
import time


def main():
    return time.time() > 1577836800 and datetime.datetime.now(datetime.timezone.utc).year >= 2020
