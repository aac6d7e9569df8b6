function total(xs) {
  return xs.reduce((sum, x) => sum + x, 0);
}
