function down(n) {
  return down(n + 1) + 1;
}
function main() {
  return down(0);
}
