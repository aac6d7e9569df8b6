function main() {
  return 'x'.repeat(5000);
}
