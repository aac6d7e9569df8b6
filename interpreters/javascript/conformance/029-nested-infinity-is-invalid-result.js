function main() {
  return { a: [1, -1 / 0] };
}
