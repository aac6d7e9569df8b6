function main() {
  for (;;) {
    try {
      for (;;) {}
    } catch (e) {
      // swallow and go round again
    } finally {
      // and again
    }
  }
}
