function other() {
  return 1;
}
