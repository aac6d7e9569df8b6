// The Polyeval playground's browser module (served by src/http/playground.ts; no build step). It
// uses only the public API: GET /v1/languages for the choices and limits, GET
// /playground/examples/:id for starter code, POST /v1/evaluate to run.

const $ = (id) => document.getElementById(id);
const els = {
  language: $('language'),
  engine: $('engine'),
  fn: $('function'),
  code: $('code'),
  gutter: $('gutter'),
  highlight: $('highlight'),
  args: $('args'),
  run: $('run'),
  status: $('status'),
  output: $('output'),
  outcome: $('outcome'),
  errorBox: $('error-box'),
  errorMessage: $('error-message'),
  errorStack: $('error-stack'),
  valueBox: $('value-box'),
  value: $('value'),
  stdout: $('stdout'),
  stderr: $('stderr'),
  stats: $('stats'),
};
const LIMITS = ['timeoutMs', 'memoryMb', 'outputBytes'];
const STORAGE_KEY = 'polyeval-playground';

let languages = [];
/** Code the editor holds as loaded from an example (replaced on a language change when untouched). */
let pristine = '';
let errorLine;

function lineHeight() {
  return Number.parseFloat(getComputedStyle(els.code).lineHeight) || 20;
}

function renderGutter() {
  const count = els.code.value.split('\n').length;
  const lines = [];
  for (let i = 1; i <= count; i++) {
    lines.push(i === errorLine ? `<span class="error-line">${i}</span>` : String(i));
  }
  els.gutter.innerHTML = lines.join('\n');
  els.gutter.scrollTop = els.code.scrollTop;
  placeHighlight();
}

function placeHighlight() {
  if (errorLine === undefined) {
    els.highlight.hidden = true;
    els.highlight.removeAttribute('data-line');
    return;
  }
  const top = Number.parseFloat(getComputedStyle(els.code).paddingTop) || 0;
  els.highlight.hidden = false;
  els.highlight.dataset.line = String(errorLine);
  els.highlight.style.top = `${top + (errorLine - 1) * lineHeight() - els.code.scrollTop}px`;
}

function setErrorLine(line) {
  errorLine = Number.isInteger(line) && line > 0 ? line : undefined;
  renderGutter();
  if (errorLine !== undefined) {
    // Bring the line into view.
    const y = (errorLine - 1) * lineHeight();
    if (y < els.code.scrollTop || y > els.code.scrollTop + els.code.clientHeight - lineHeight()) {
      els.code.scrollTop = Math.max(0, y - els.code.clientHeight / 2);
    }
    placeHighlight();
  }
}

function current() {
  return languages.find((l) => l.id === els.language.value);
}

function showLimits() {
  const language = current();
  if (language === undefined) return;
  for (const name of LIMITS) {
    const input = $(name);
    input.placeholder = String(language.limits.defaults[name]);
    input.max = String(language.limits.ceilings[name]);
    input.title = `default ${language.limits.defaults[name]}, ceiling ${language.limits.ceilings[name]}`;
  }
  const { name, version } = language.engine;
  const engine = version.startsWith(name) ? version : `${name} ${version}`;
  els.engine.textContent = `${engine}${language.ready ? '' : ' (starting…)'}`;
}

async function loadExample() {
  const language = current();
  if (language === undefined) return;
  if (els.code.value !== pristine && els.code.value.trim() !== '') return; // keep the user's work
  const response = await fetch(`/playground/examples/${encodeURIComponent(language.id)}`);
  if (!response.ok) {
    els.code.value = '';
    pristine = '';
  } else {
    const example = await response.json();
    els.code.value = example.code;
    pristine = example.code;
    els.fn.value = example.function;
    els.args.value = JSON.stringify(example.args);
  }
  setErrorLine(undefined);
}

function save() {
  try {
    sessionStorage.setItem(
      STORAGE_KEY,
      JSON.stringify({
        language: els.language.value,
        code: els.code.value,
        fn: els.fn.value,
        args: els.args.value,
      }),
    );
  } catch {
    // storage may be disabled: the playground works without it
  }
}

function restore() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

/** The request body, built as text so that big integers in the arguments keep every digit. */
function requestBody() {
  const argsText = els.args.value.trim() === '' ? '[]' : els.args.value.trim();
  let parsed;
  try {
    parsed = JSON.parse(argsText);
  } catch (error) {
    throw new Error(`The arguments are not valid JSON: ${error.message}`);
  }
  if (!Array.isArray(parsed)) throw new Error('The arguments must be a JSON array, e.g. [2, 3]');
  const limits = {};
  for (const name of LIMITS) {
    const value = $(name).value.trim();
    if (value !== '') limits[name] = Number(value);
  }
  const head = JSON.stringify({
    language: els.language.value,
    code: els.code.value,
    function: els.fn.value.trim() || 'main',
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  });
  return `${head.slice(0, -1)},"args":${argsText}}`;
}

function row(name, value) {
  const tr = document.createElement('tr');
  const a = document.createElement('td');
  const b = document.createElement('td');
  a.textContent = name;
  b.textContent = value;
  tr.append(a, b);
  return tr;
}

function showResult(status, body, ms) {
  els.output.hidden = false;
  els.stats.replaceChildren();
  els.errorStack.hidden = true;
  if (status !== 200) {
    // A problem+json answer: a bad request or our own failure.
    els.outcome.className = 'outcome bad';
    els.outcome.textContent = `HTTP ${status} ${body.title ?? ''}`;
    els.errorBox.hidden = false;
    els.errorMessage.textContent = body.detail ?? JSON.stringify(body);
    els.valueBox.hidden = true;
    els.stdout.textContent = '';
    els.stderr.textContent = '';
    els.stats.append(row('round trip', `${ms.toFixed(1)} ms`));
    setErrorLine(undefined);
    return;
  }
  els.outcome.className = body.ok ? 'outcome ok' : 'outcome bad';
  els.outcome.dataset.code = body.ok ? 'OK' : body.error.code;
  els.outcome.textContent = body.ok ? 'OK' : body.error.code;
  els.errorBox.hidden = body.ok;
  els.valueBox.hidden = !body.ok;
  if (body.ok) {
    els.value.textContent = JSON.stringify(body.value, null, 2);
  } else {
    // Engines often name the type and position in the message already: add them only when not.
    const { type, line, column, message } = body.error;
    const where =
      line === undefined || message.includes(`line ${line}`)
        ? ''
        : ` (line ${line}${column === undefined ? '' : `, column ${column}`})`;
    const prefix = type === undefined || message.includes(type) ? '' : `${type}: `;
    els.errorMessage.textContent = `${prefix}${message}${where}`;
    if (body.error.stack) {
      els.errorStack.hidden = false;
      els.errorStack.textContent = body.error.stack;
    }
  }
  setErrorLine(body.ok ? undefined : body.error.line);
  els.stdout.textContent = body.stdout;
  els.stderr.textContent = body.stderr;
  for (const [name, value] of Object.entries(body.stats ?? {})) {
    const shown = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(2) : String(value);
    els.stats.append(
      row(name, name.endsWith('Bytes') ? `${shown} B` : name.endsWith('Ms') ? `${shown} ms` : shown),
    );
  }

  els.stats.append(row('round trip', `${ms.toFixed(1)} ms`));
  for (const name of LIMITS) els.stats.append(row(`limit ${name}`, String(body.limits?.[name])));
}

async function run() {
  let body;
  try {
    body = requestBody();
  } catch (error) {
    els.status.textContent = error.message;
    return;
  }
  save();
  els.run.disabled = true;
  els.status.textContent = 'Running…';
  const started = performance.now();
  try {
    const response = await fetch('/v1/evaluate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
    showResult(response.status, parsed, performance.now() - started);
    els.status.textContent = `Done (request ${response.headers.get('x-request-id') ?? ''})`;
  } catch (error) {
    els.status.textContent = `Cannot reach the server: ${error.message}`;
  } finally {
    els.run.disabled = false;
  }
}

async function init() {
  const response = await fetch('/v1/languages');
  languages = (await response.json()).languages;
  els.language.replaceChildren(
    ...languages.map((l) => {
      const option = document.createElement('option');
      option.value = l.id;
      option.textContent = l.displayName;
      return option;
    }),
  );
  const saved = restore();
  if (saved !== null && languages.some((l) => l.id === saved.language)) {
    els.language.value = saved.language;
    els.code.value = saved.code;
    els.fn.value = saved.fn;
    els.args.value = saved.args;
    renderGutter();
  } else {
    await loadExample();
  }
  showLimits();
  els.run.disabled = languages.length === 0;
  els.status.textContent = languages.length === 0 ? 'No language is enabled on this server.' : 'Ready.';
}

els.language.addEventListener('change', () => {
  showLimits();
  void loadExample();
});
els.code.addEventListener('input', () => {
  if (errorLine !== undefined) errorLine = undefined;
  renderGutter();
});
els.code.addEventListener('scroll', () => {
  els.gutter.scrollTop = els.code.scrollTop;
  placeHighlight();
});
els.code.addEventListener('keydown', (event) => {
  if (event.key === 'Tab' && !event.shiftKey) {
    event.preventDefault();
    els.code.setRangeText('  ', els.code.selectionStart, els.code.selectionEnd, 'end');
    renderGutter();
  }
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !els.run.disabled) {
    event.preventDefault();
    void run();
  }
});
els.run.addEventListener('click', () => void run());

init().catch((error) => {
  els.status.textContent = `Cannot load the languages: ${error.message}`;
});
