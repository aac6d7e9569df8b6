function main() {
  console.log('out 1');
  console.error('err 1');
  console.log('out 2');
  return true;
}
