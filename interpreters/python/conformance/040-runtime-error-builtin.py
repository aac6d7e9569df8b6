def main(x):
    return x.field.inner
