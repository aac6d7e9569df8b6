function main() {
  const g = globalThis;
  for (const name of ['fetch', 'XMLHttpRequest', 'WebSocket', 'require']) {
    if (typeof g[name] !== 'undefined') return name + ' is available';
  }
  return 'blocked';
}
