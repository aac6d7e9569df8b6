function make() {
  return String.fromCodePoint(0x1f600, 0xe9, 0x20ac);
}
