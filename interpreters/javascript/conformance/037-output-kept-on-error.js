function main() {
  console.log('before');
  throw new Error('raised after printing');
}
