import { startExecutor } from './lib/executor.js';
const ex = await startExecutor('python', { poolSize: 1 });
const limits = { timeoutMs: 5000, memoryMb: 128, outputBytes: 1_000_000 };
const codes = process.argv.slice(2);
for (const code of codes) {
  const r = await ex.execute({ code: code.replaceAll('\\n', '\n'), function: 'f', args: [], limits });
  console.log(JSON.stringify(r));
}
await ex.close();
