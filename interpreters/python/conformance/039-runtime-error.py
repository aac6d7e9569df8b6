def main():
    reason = "conformance failure"
    raise ValueError(reason)
