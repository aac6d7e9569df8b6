async function main(x) {
  const y = await Promise.resolve(x);
  await null;
  return y * 2;
}
