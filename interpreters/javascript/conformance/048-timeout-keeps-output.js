function main() {
  console.log('before');
  for (;;) {}
}
