// indexOf on a 16 MiB string runs inside QuickJS's C code, where no interrupt check happens:
// only the pool's watchdog (which terminates the worker) stops it.
function main() {
  const s = 'a'.repeat(2 ** 24);
  let n = 0;
  for (;;) n += s.indexOf('b' + n);
}
