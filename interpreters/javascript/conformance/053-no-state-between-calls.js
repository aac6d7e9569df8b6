// Both a global and a prototype change would show in the counter if either survived a call.
globalThis.counter = (globalThis.counter ?? 0) + 1 + (({}).polluted === true ? 100 : 0);
Object.prototype.polluted = true;
function main() {
  return counter;
}
