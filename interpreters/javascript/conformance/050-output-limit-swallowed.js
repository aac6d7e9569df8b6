function main() {
  for (;;) {
    try {
      console.log('y'.repeat(100));
    } catch (e) {
      // swallow
    }
  }
}
