function main() {
  const draws = Array.from({ length: 20 }, () => Math.random());
  return draws.every((x) => x >= 0 && x < 1) && new Set(draws).size > 1;
}
