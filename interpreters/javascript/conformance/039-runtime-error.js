function main() {
  const reason = 'conformance failure';
  throw new Error(reason);
}
