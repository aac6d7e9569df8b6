import { startServer, postJson } from './dist/scripts/lib/server.js';
const server = await startServer({ POLYEVAL_LANGUAGES: 'javascript', POLYEVAL_POOL_SIZE: '1' });
for (const [code, limits] of [['function main() { return "x".repeat(1e8) }', { memoryMb: 256, timeoutMs: 2000 }], ['function main() { return "x".repeat(1e8) }', { memoryMb: 256, timeoutMs: 10000 }], ['function main() { return "x".repeat(1e6) }', {}], ['function main() { return "x".repeat(1e8) }', { memoryMb: 64, timeoutMs: 10000 }]]) {
  const t = performance.now();
  const { body } = await postJson(`${server.url}/v1/evaluate`, { language: 'javascript', code, limits });
  console.log(JSON.stringify(limits), body.error?.code, body.error?.message, Math.round(performance.now() - t));
}
await server.close();
