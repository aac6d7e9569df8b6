// The Polyeval playground's browser module (served by src/http/playground.ts; no build step: the
// page's import map points the bare specifiers below at CodeMirror 6's modules, served by this
// server from node_modules). It uses only the public API: GET /v1/languages for the choices and
// limits, GET /playground/examples/:id for starter code and the highlighting mode, POST
// /v1/evaluate to run. Code is kept per language (localStorage), with a reset to the example; a
// share link carries the whole state in the URL fragment (never sent to the server).

import { defaultKeymap, historyKeymap, indentWithTab, history as undoHistory } from '@codemirror/commands';
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  StreamLanguage,
  syntaxHighlighting,
} from '@codemirror/language';
import { Compartment, EditorState, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import {
  Decoration,
  EditorView,
  GutterMarker,
  gutterLineClass,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from '@codemirror/view';

const $ = (id) => document.getElementById(id);
const els = {
  language: $('language'),
  engine: $('engine'),
  fn: $('function'),
  editor: $('editor'),
  reset: $('reset'),
  args: $('args'),
  argsError: $('args-error'),
  tokenRow: $('token-row'),
  token: $('token'),
  run: $('run'),
  share: $('share'),
  shareLink: $('share-link'),
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
const STORAGE_KEY = 'polyeval-playground-v2';
/** The bearer token, when the server asks for one (kept for this tab only). */
const TOKEN_KEY = 'polyeval-playground-token';

/** Highlighting modes a manifest may name (manifest "editor.mode"), loaded when first needed. */
const MODES = {
  'lang-javascript': async () => (await import('@codemirror/lang-javascript')).javascript(),
  'lang-python': async () => (await import('@codemirror/lang-python')).python(),
  'legacy-lua': async () => StreamLanguage.define((await import('@codemirror/legacy-modes/mode/lua')).lua),
  'legacy-wast': async () => StreamLanguage.define((await import('@codemirror/legacy-modes/mode/wast')).wast),
};

let languages = [];
/** Per language: { code, fn, args } as the user left them. */
let kept = {};
/** The language whose code the editor holds. */
let shown;
/** Examples fetched, by language id. */
const examples = new Map();

// ---- The editor ---------------------------------------------------------------------------------

/** Marks the failing line (and column, when known); cleared by the next edit. */
const setError = StateEffect.define();
const errorMarker = new (class extends GutterMarker {
  elementClass = 'cm-error-gutter';
})();
const errorField = StateField.define({
  create: () => null,
  update(value, tr) {
    for (const effect of tr.effects) if (effect.is(setError)) return effect.value;
    return tr.docChanged ? null : value;
  },
});
function errorDecorations(state) {
  const error = state.field(errorField);
  const builder = new RangeSetBuilder();
  if (error === null || error.line > state.doc.lines) return builder.finish();
  const line = state.doc.line(error.line);
  builder.add(
    line.from,
    line.from,
    Decoration.line({ class: 'cm-error-line', attributes: { 'data-line': String(error.line) } }),
  );
  if (error.column !== undefined && error.column >= 1 && line.length > 0) {
    const from = line.from + Math.min(error.column - 1, line.length - 1);
    builder.add(
      from,
      from + 1,
      Decoration.mark({ class: 'cm-error-column', attributes: { 'data-column': String(error.column) } }),
    );
  }
  return builder.finish();
}
const errorDecorationsField = StateField.define({
  create: (state) => errorDecorations(state),
  update: (_value, tr) => errorDecorations(tr.state),
  provide: (field) => EditorView.decorations.from(field),
});
const errorGutter = gutterLineClass.compute([errorField], (state) => {
  const error = state.field(errorField);
  const builder = new RangeSetBuilder();
  if (error !== null && error.line <= state.doc.lines) {
    const line = state.doc.line(error.line);
    builder.add(line.from, line.from, errorMarker);
  }
  return builder.finish();
});

const mode = new Compartment();
const view = new EditorView({
  parent: els.editor,
  state: EditorState.create({
    doc: '',
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightActiveLine(),
      undoHistory(),
      indentOnInput(),
      bracketMatching(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      EditorState.tabSize.of(2),
      keymap.of([
        {
          key: 'Mod-Enter',
          run: () => {
            void run();
            return true;
          },
        },
        indentWithTab,
        ...defaultKeymap,
        ...historyKeymap,
      ]),
      mode.of([]),
      errorField,
      errorDecorationsField,
      errorGutter,
      EditorView.contentAttributes.of({ 'aria-label': 'Code' }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) keep();
      }),
    ],
  }),
});

function code() {
  return view.state.doc.toString();
}

function setCode(text) {
  view.dispatch({
    changes: { from: 0, to: view.state.doc.length, insert: text },
    effects: setError.of(null),
  });
}

function setErrorAt(line, column) {
  const valid = Number.isInteger(line) && line > 0;
  view.dispatch({
    effects: setError.of(valid ? { line, ...(Number.isInteger(column) ? { column } : {}) } : null),
    ...(valid && line <= view.state.doc.lines
      ? { selection: { anchor: view.state.doc.line(line).from }, scrollIntoView: true }
      : {}),
  });
}

async function setMode(name) {
  const load = name === undefined ? undefined : MODES[name];
  view.dispatch({ effects: mode.reconfigure(load === undefined ? [] : await load()) });
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

// ---- The API (with a bearer token when the server has authentication on) ----------------------

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return els.token.value;
  }
}

/** fetch() of the API; a 401 shows the token field and says why. */
async function api(path, init = {}) {
  const headers = { ...init.headers, ...(token() === '' ? {} : { authorization: `Bearer ${token()}` }) };
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) {
    els.tokenRow.hidden = false;
    els.token.focus();
    els.status.textContent =
      token() === ''
        ? 'This server needs a token: enter it above.'
        : 'The token was refused: check it above.';
  }
  return response;
}

async function example(id) {
  if (!examples.has(id)) {
    const response = await fetch(`/playground/examples/${encodeURIComponent(id)}`);
    examples.set(id, response.ok ? await response.json() : null);
  }
  return examples.get(id);
}

/** Remembers the editor, function and arguments of the language shown (per language, across visits). */
function keep() {
  if (shown === undefined) return;
  kept[shown] = { code: code(), fn: els.fn.value, args: els.args.value };
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ language: shown, kept }));
  } catch {
    // storage may be disabled: the playground works without it
  }
}

/** Shows a language: its kept code, else its example; `state` (a share link) wins over both. */
async function show(id, state) {
  if (shown !== undefined && shown !== id) keep();
  shown = id;
  els.language.value = id;
  showLimits();
  const ex = await example(id);
  await setMode(ex?.mode);
  const saved = state ?? kept[id];
  if (saved !== undefined) {
    setCode(saved.code);
    els.fn.value = saved.fn;
    els.args.value = saved.args;
  } else {
    setCode(ex?.code ?? '');
    els.fn.value = ex?.function ?? 'main';
    els.args.value = JSON.stringify(ex?.args ?? []);
  }
  markArgs();
  keep();
}

async function resetToExample() {
  const ex = await example(els.language.value);
  setCode(ex?.code ?? '');
  els.fn.value = ex?.function ?? 'main';
  els.args.value = JSON.stringify(ex?.args ?? []);
  markArgs();
  clearResult();
  keep();
}

function restore() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (saved !== null && typeof saved.kept === 'object') return saved;
  } catch {
    // unreadable: start afresh
  }
  return { language: undefined, kept: {} };
}

// ---- Arguments ---------------------------------------------------------------------------------

/** The reason the arguments are invalid, or undefined. */
function argsProblem() {
  const text = els.args.value.trim() === '' ? '[]' : els.args.value.trim();
  try {
    return Array.isArray(JSON.parse(text)) ? undefined : 'The arguments must be a JSON array, e.g. [2, 3]';
  } catch (error) {
    return `The arguments are not valid JSON: ${error.message}`;
  }
}

/** Marks the arguments field when invalid (and says why under it). */
function markArgs() {
  const problem = argsProblem();
  els.args.classList.toggle('invalid', problem !== undefined);
  els.args.setAttribute('aria-invalid', String(problem !== undefined));
  els.argsError.hidden = problem === undefined;
  els.argsError.textContent = problem ?? '';
  return problem;
}

function clearResult() {
  els.output.hidden = true;
  els.outcome.removeAttribute('data-code');
  els.outcome.textContent = '';
  els.value.textContent = '';
  els.stdout.textContent = '';
  els.stderr.textContent = '';
  els.stats.replaceChildren();
  setErrorAt(undefined);
}

// ---- Share links --------------------------------------------------------------------------------

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function shareState() {
  const limits = {};
  for (const name of LIMITS) if ($(name).value.trim() !== '') limits[name] = $(name).value.trim();
  return { language: els.language.value, code: code(), fn: els.fn.value, args: els.args.value, limits };
}

function share() {
  const url = `${location.origin}${location.pathname}#s=${toBase64Url(JSON.stringify(shareState()))}`;
  window.history.replaceState(null, '', url);
  els.shareLink.hidden = false;
  els.shareLink.value = url;
  els.shareLink.select();
  navigator.clipboard?.writeText(url).then(
    () => (els.status.textContent = 'Link copied.'),
    () => (els.status.textContent = 'Link ready: copy it from the field below.'),
  );
}

/** The state a share link carries, or undefined. */
function sharedState() {
  const match = /^#s=([\w-]+)$/.exec(location.hash);
  if (match === null) return undefined;
  try {
    const state = JSON.parse(fromBase64Url(match[1]));
    return typeof state.language === 'string' && typeof state.code === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The request body, built as text so that big integers in the arguments keep every digit. */
function requestBody() {
  const argsText = els.args.value.trim() === '' ? '[]' : els.args.value.trim();
  const problem = markArgs();
  if (problem !== undefined) throw new Error(problem);
  const limits = {};
  for (const name of LIMITS) {
    const value = $(name).value.trim();
    if (value !== '') limits[name] = Number(value);
  }
  const head = JSON.stringify({
    language: els.language.value,
    code: code(),
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
    setErrorAt(undefined);
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
  if (body.ok) setErrorAt(undefined);
  else setErrorAt(body.error.line, body.error.column);
  els.stdout.textContent = body.stdout;
  els.stderr.textContent = body.stderr;
  for (const [name, value] of Object.entries(body.stats ?? {})) {
    const text = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value);
    els.stats.append(
      row(name, name.endsWith('Bytes') ? `${text} B` : name.endsWith('Ms') ? `${text} ms` : text),
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
    // The last answer was for other arguments: do not leave it standing beside the error.
    clearResult();
    els.status.textContent = error.message;
    return;
  }
  keep();
  els.run.disabled = true;
  els.status.textContent = 'Running…';
  const started = performance.now();
  try {
    const response = await api('/v1/evaluate', {
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
  const response = await api('/v1/languages');
  if (response.status === 401) return; // init runs again once a token is entered
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
  kept = saved.kept;
  const link = sharedState();
  const first =
    [link?.language, saved.language].find((id) => languages.some((l) => l.id === id)) ?? languages[0]?.id;
  if (first !== undefined) {
    const fromLink = link !== undefined && link.language === first ? link : undefined;
    await show(first, fromLink);
    for (const name of LIMITS) $(name).value = fromLink?.limits?.[name] ?? '';
  }
  els.run.disabled = languages.length === 0;
  els.status.textContent = languages.length === 0 ? 'No language is enabled on this server.' : 'Ready.';
}

els.language.addEventListener('change', () => {
  clearResult();
  els.status.textContent = '';
  void show(els.language.value);
});
els.args.addEventListener('input', () => {
  markArgs();
  keep();
});
els.fn.addEventListener('input', () => keep());
els.reset.addEventListener('click', () => void resetToExample());
els.token.addEventListener('change', () => {
  try {
    sessionStorage.setItem(TOKEN_KEY, els.token.value.trim());
  } catch {
    // storage disabled: token() reads the field
  }
  if (languages.length === 0) void init();
});
els.share.addEventListener('click', () => share());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !els.run.disabled && !view.hasFocus) {
    event.preventDefault();
    void run();
  }
});
els.run.addEventListener('click', () => void run());

init().catch((error) => {
  els.status.textContent = `Cannot load the languages: ${error.message}`;
});
