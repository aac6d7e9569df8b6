function main() {
  const g = globalThis;
  try {
    if (typeof g.require === 'function') return String(g.require('child_process').execSync('echo spawned'));
    if (typeof g.os !== 'undefined' && g.os.exec) return String(g.os.exec(['echo', 'spawned']));
    if (typeof g.std !== 'undefined' && g.std.popen) return 'popen is available';
  } catch (e) {
    return 'blocked';
  }
  return 'blocked';
}
