// Text the service echoes back from its input (error messages, function and import names, language
// names, keys, ZIDs, validation errors) goes through here on its way out: capped, so that a 3 MB
// import name does not become a 3 MB answer, and free of characters that would make it lie or
// break what displays it. C0 and C1 controls (NUL included), DEL, the bidirectional controls
// (which can make a message read backwards in a terminal or a browser) and lone surrogates are
// escaped as \uXXXX; newline and tab survive only where the text may have lines (a message, a
// stack). The problem+json builder and the orchestrator's results apply it to everything they
// send; the places that build a message around an input apply it to the input they quote.

import type { GuestError } from './contract.js';

/** Characters an echo may hold at most (1 KiB of ASCII). */
export const ECHO_MAX_CHARS = 1024;
/** A quoted name inside a message: short enough that several fit in one. */
export const NAME_MAX_CHARS = 128;
/** A guest stack or traceback: a few frames. */
export const STACK_MAX_CHARS = 4096;

// \p{Cc} is C0, DEL and C1; then the bidirectional marks, embeddings, overrides and isolates;
// \p{Cs} (with the u flag) matches only surrogates that are not half of a pair.
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

/**
 * `text` made safe to echo: unsafe characters escaped, at most `max` characters, and a longer
 * text cut and marked with its full length.
 */
export function safeText(text: string, max: number = ECHO_MAX_CHARS, keepLines = true): string {
  // Cut first (escaping 3 MB to keep 1 KiB of it would be wasted work), then escape, then cut what
  // escaping lengthened, never inside a \uXXXX escape nor between the halves of a pair.
  let cut = text.length > max;
  let end = max;
  if (cut && /[\ud800-\udbff]/.test(text.charAt(end - 1))) end--;
  let out = (cut ? text.slice(0, end) : text).replace(UNSAFE, (c) =>
    keepLines && (c === '\n' || c === '\t') ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (out.length > max) {
    cut = true;
    end = max;
    const lastEscape = out.lastIndexOf('\\u', end - 1);
    if (lastEscape >= 0 && lastEscape > end - 6) end = lastEscape;
    else if (/[\ud800-\udbff]/.test(out.charAt(end - 1))) end--;
    out = out.slice(0, end);
  }
  return cut ? `${out}… (cut, ${text.length} characters in all)` : out;
}

/** A name (function, import, language, key) as a message quotes it: one line, short. */
export function safeName(name: string): string {
  return safeText(name, NAME_MAX_CHARS, false);
}

/** A guest error whose texts are safe to send (see the header). */
export function safeGuestError(error: GuestError): GuestError {
  const message = safeText(error.message);
  const type = error.type === undefined ? undefined : safeName(error.type);
  const stack = error.stack === undefined ? undefined : safeText(error.stack, STACK_MAX_CHARS);
  if (message === error.message && type === error.type && stack === error.stack) return error;
  return {
    ...error,
    message,
    ...(type === undefined ? {} : { type }),
    ...(stack === undefined ? {} : { stack }),
  };
}
