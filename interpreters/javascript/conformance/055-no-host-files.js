function main() {
  const g = globalThis;
  try {
    if (typeof g.require === 'function') return g.require('fs').readFileSync('/etc/passwd', 'utf8');
    if (typeof g.std !== 'undefined') return g.std.loadFile('/etc/passwd');
    if (typeof g.os !== 'undefined') return String(g.os.open('/etc/passwd', 0));
  } catch (e) {
    return 'blocked';
  }
  return 'blocked';
}
