function main() {
  for (let i = 0; ; i++) console.log('line ' + i);
}
