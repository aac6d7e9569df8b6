// Attacks on the Lua executor (Lua 5.4 from wasmoon's glue.wasm, hosted with our own imports, in
// worker threads). Already covered and not repeated: loops, pcall loops, string.rep in a loop,
// memory balloons, output floods, deep recursion, os.exit, no env/files/network/spawn (conformance
// cases 045-059 in interpreters/lua/conformance). What follows goes after the prelude's narrowing of
// the standard library (load, debug, package), the 27 imports (files, shell, clock, heap growth),
// the count hook, and the host's result reader.

import { expect } from 'vitest';
import { evaluateAttack } from '../attack-builders.js';
import type { Attack } from '../harness.js';

const lua = (spec: Omit<Parameters<typeof evaluateAttack>[0], 'language'>): Attack =>
  evaluateAttack({ language: 'lua', ...spec });

/** Every file and process function of the standard library, tried on the canaries. */
const HOST_PROBE = `
function main()
  local out = {}
  local function try(name, f)
    local ok, r = pcall(f)
    out[#out + 1] = name .. '=' .. tostring(ok) .. ':' .. tostring(r)
  end
  try('getenv', function() return os.getenv('{{ENV_NAME}}') end)
  try('open', function() local f = io.open('{{SECRET_FILE}}') return f and f:read('a') end)
  try('lines', function() for l in io.lines('{{SECRET_FILE}}') do return l end end)
  try('dofile', function() return dofile('{{SECRET_FILE}}') end)
  try('loadfile', function() return loadfile('{{SECRET_FILE}}') end)
  try('input', function() io.input('{{SECRET_FILE}}') return io.read('a') end)
  try('output', function() io.output('{{SECRET_FILE}}') return io.write('overwritten') end)
  try('remove', function() return os.remove('{{SECRET_FILE}}') end)
  try('rename', function() return os.rename('{{SECRET_FILE}}', '/tmp/moved') end)
  try('tmpname', function() return os.tmpname() end)
  try('popen', function() return io.popen('cat {{SECRET_FILE}}') end)
  try('execute', function() return os.execute('cat {{SECRET_FILE}}') end)
  try('require', function() return require('socket') end)
  try('loadlib', function() return package.loadlib('/lib/x86_64-linux-gnu/libc.so.6', 'system') end)
  try('stdin', function() return io.read('a') end)
  return table.concat(out, '\\n')
end`;

export const LUA_ATTACKS: readonly Attack[] = [
  // Every route the standard library has to files, processes, the environment and C modules.
  lua({
    id: 'lua-host-files-and-processes',
    title:
      'getenv, io.open/lines/input/output, dofile, loadfile, remove, rename, popen, execute, require, loadlib',
    result: 'each fails or finds nothing; the canaries are untouched',
    code: HOST_PROBE,
    check: (body) => {
      expect(body.ok).toBe(true);
      expect(body.value).toContain('getenv=true:nil');
      expect(body.value).toContain('popen=false');
    },
  }),
  // Finding: load() forces text mode, but while it calls a reader function the reader could take
  // the real load from the stack (debug.getinfo(2, "f").func) and load crafted bytecode.
  lua({
    id: 'lua-binary-chunk-via-reader',
    title: 'reader function grabs the real load from the stack and loads a binary chunk',
    result: 'no binary chunk is ever loaded',
    finding: 'a reader function reached the unwrapped load through debug.getinfo and loaded bytecode',
    code: `function main()
      local bc, found = string.dump(function() return 42 end), {}
      load(function()
        for level = 2, 8 do
          local info = debug.getinfo(level, 'f')
          if info and info.func and info.func ~= load then found[#found + 1] = info.func end
        end
      end)
      for _, f in ipairs(found) do
        local ok, g = pcall(f, bc, 'x', 'b')
        if ok and type(g) == 'function' then return 'loaded: ' .. tostring(g()) end
      end
      return 'refused'
    end`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: 'refused' }),
  }),
  // Finding (the same class, deeper): a __gc finalizer runs inside whatever C function allocated;
  // run inside the real load, it found load on the stack.
  lua({
    id: 'lua-binary-chunk-via-finalizer',
    title: '__gc finalizer running inside load() takes it from the stack and loads a binary chunk',
    result: 'no binary chunk is ever loaded',
    finding: 'debug.getinfo handed out the functions on the stack, the real load among them',
    code: `function main()
      local bc, known, found = string.dump(function() return 42 end), {}, {}
      for _, v in pairs(_G) do if type(v) == 'function' then known[v] = true end end
      for _, lib in ipairs({ string, table, math, os, io, coroutine, utf8, debug }) do
        for _, v in pairs(lib) do known[v] = true end
      end
      local function trap()
        for level = 2, 12 do
          local info = debug.getinfo(level, 'fS')
          if info == nil then break end
          if info.func ~= nil and info.what == 'C' and not known[info.func] then found[#found + 1] = info.func end
        end
      end
      for round = 1, 100 do
        for _ = 1, 200 do setmetatable({}, { __gc = trap }) end
        load(string.rep('local a = 1 ', 200))
        if #found > 0 then break end
      end
      for _, f in ipairs(found) do
        local ok, g = pcall(f, bc, 'x', 'b')
        if ok and type(g) == 'function' then return 'loaded: ' .. tostring(g()) end
      end
      return 'refused'
    end`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: 'refused' }),
  }),
  // The debug library is narrowed to traceback and getinfo: sethook (remove our count hook),
  // getupvalue/setupvalue, getregistry, setmetatable on other types must be gone.
  lua({
    id: 'lua-debug-library',
    title: 'debug.sethook/getregistry/getupvalue/setmetatable to lift the count hook or reach the registry',
    result: 'absent: only traceback and a getinfo that hands out no functions',
    code: `function main()
      local names = {}
      for k in pairs(debug) do names[#names + 1] = k end
      table.sort(names)
      return { table.concat(names, ','), debug.getinfo(1, 'f').func == nil }
    end`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: ['getinfo,traceback', true] }),
  }),
  // A __gc that loops: Lua runs finalizers with hooks off, so the count hook cannot stop it; the
  // pool's watchdog must.
  lua({
    id: 'lua-gc-finalizer-loop',
    title: '__gc finalizer that loops forever (hooks are off inside finalizers)',
    result: 'TIMEOUT (the watchdog replaces the worker)',
    code: `function main() setmetatable({}, { __gc = function() while true do end end }) collectgarbage() return 1 end`,
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Metatables on _G and the string metatable: the host reads the entry raw and the result raw.
  lua({
    id: 'lua-metatable-tricks',
    title: '__index on _G that loops, __pairs/__len/__index on the result, string metatable replaced',
    result: 'the entry and the result are read raw: the real values',
    code: `function main()
      local r = setmetatable({ 1, 2, 3 }, { __len = function() while true do end end,
        __index = function() while true do end end, __pairs = function() while true do end end })
      getmetatable('').__index = function() while true do end end
      setmetatable(_G, { __index = function() while true do end end, __newindex = function() while true do end end })
      return r
    end`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: [1, 2, 3] }),
  }),
  // Strings that the result reader must refuse or carry exactly.
  lua({
    id: 'lua-result-key-not-utf8',
    title: 'result table with a key that is not UTF-8',
    result: 'INVALID_RESULT',
    finding: 'the host decoder threw: SANDBOX_CRASH and a replaced VM instead of INVALID_RESULT',
    code: `function main() return { ['\\255\\254'] = 1 } end`,
    codes: ['INVALID_RESULT'],
  }),
  // Keys that are Object's members, where the host builds the result object.
  lua({
    id: 'lua-result-proto-key',
    title: 'result table with a "__proto__" key (prototype games in the host reader)',
    result: 'the key is carried as data',
    finding:
      'the host built the object with an assignment: "__proto__" set its prototype and the key vanished',
    code: `function main() return { __proto__ = { polluted = true }, constructor = 1 } end`,
    check: (body) => {
      expect(body.ok).toBe(true);
      expect(Object.keys(body.value).sort()).toEqual(['__proto__', 'constructor']);
      expect(Object.getOwnPropertyDescriptor(body.value, '__proto__')?.value).toEqual({ polluted: true });
    },
  }),
  // Memory: one string.rep far past the cap, a table of many medium strings, a pcall that swallows
  // the memory error and keeps allocating.
  lua({
    id: 'lua-string-rep-bomb',
    title: "string.rep('x', 2^30) and a pcall that swallows 'not enough memory' and retries",
    result: 'MEMORY_LIMIT (a refused growth marks the call whatever the guest catches)',
    code: `function main()
      for i = 1, 1000 do pcall(string.rep, 'x', 2^30) end
      local t = {}
      for i = 1, 1e7 do local ok = pcall(function() t[#t + 1] = string.rep('y', 1e5) .. i end) end
      return #t
    end`,
    limits: { timeoutMs: 5000 },
    codes: ['MEMORY_LIMIT'],
  }),
  // Coroutines: a C-stack chain of nested coroutines, and an endless yield loop.
  lua({
    id: 'lua-coroutine-nesting',
    title: 'coroutines resuming coroutines without end (C stack)',
    result: 'RUNTIME_ERROR (C stack overflow)',
    code: 'function main() local function f() return coroutine.wrap(f)() end return f() end',
    codes: ['RUNTIME_ERROR'],
  }),
  // A yield/resume ping-pong that swallows errors with pcall: the hook must still fire.
  lua({
    id: 'lua-coroutine-yield-loop',
    title: 'endless yield/resume ping-pong inside pcall',
    result: 'TIMEOUT (the count hook fires in every coroutine)',
    code: `function main()
      local co = coroutine.wrap(function() while true do coroutine.yield(1) end end)
      while true do pcall(co) end
    end`,
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // A pattern that backtracks inside C (string.find) never reaches the count hook.
  lua({
    id: 'lua-pattern-backtracking',
    title: 'string.find with a pathological pattern (runs inside C)',
    result: 'TIMEOUT (the watchdog)',
    code: `function main() return string.find(string.rep('a', 2e5), '.-.-.-.-b') end`,
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Randomness: a fresh VM took its seed from the time in seconds and addresses that are the same
  // in every instance, so calls in the same second drew the same numbers.
  {
    id: 'lua-random-predictable',
    title: 'two calls in the same second compare their math.random draws',
    result: 'different draws (seeded from crypto.getRandomValues)',
    finding: 'every call within a second drew the same math.random sequence (one call could predict another)',
    async run(h) {
      const code = 'function main() return { math.random(1, 2^40), math.random(1, 2^40) } end';
      const draws = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const answer = await h.evaluate('lua', code);
        expect(answer.body.ok).toBe(true);
        draws.add(JSON.stringify(answer.body.value));
      }
      expect(draws.size).toBe(4);
    },
  },
  // os.exit(code, true) closes the state (running every finalizer) before exiting.
  lua({
    id: 'lua-exit-close',
    title: 'os.exit(0, true): lua_close runs finalizers, then exit',
    result: 'RUNTIME_ERROR with exitCode; only the guest ends',
    code: `function main() setmetatable({}, { __gc = function() print('finalized') end }) os.exit(3, true) end`,
    codes: ['RUNTIME_ERROR'],
    check: (body) => expect(body.error.exitCode).toBe(3),
  }),
];
