// QuickJS has no process, std or os objects: there is nothing to read the environment with.
function main() {
  const g = globalThis;
  if (typeof g.process !== 'undefined' && g.process.env) return Object.keys(g.process.env).join(',') || 'none';
  if (typeof g.std !== 'undefined' && g.std.getenv) return g.std.getenv('PATH') ?? 'none';
  if (typeof g.Deno !== 'undefined') return 'visible';
  return 'none';
}
