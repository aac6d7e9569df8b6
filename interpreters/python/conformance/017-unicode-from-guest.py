def make():
    return chr(0x1F600) + chr(0xE9) + chr(0x20AC)
