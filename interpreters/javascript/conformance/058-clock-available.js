function main() {
  return Date.now() > Date.UTC(2020, 0, 1) && new Date().getUTCFullYear() >= 2020;
}
