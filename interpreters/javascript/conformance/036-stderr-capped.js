function main() {
  for (let i = 0; ; i++) console.error('line ' + i);
}
