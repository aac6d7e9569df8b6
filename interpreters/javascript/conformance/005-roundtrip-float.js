function echo(value) {
  return value;
}
