// Request decoding: every body the reference evaluator accepted becomes one EvaluationRequest.
//   JSON: a bare Z7; {reentrant, zobject: Z7}; the flat form {codingLanguage, codeString,
//         functionName, functionArguments, remainingTime?}
//   Avro (application/octet-stream): 0.0.1 (bare Z7), 0.0.2 ({reentrant, zobject}), 0.0.3 and
//         0.0.4 (the flat form; 0.0.4 adds remainingTime)
// ZObjects may arrive in canonical or normal form; they are normalized and validated here. A body
// that cannot be used becomes a RequestError carrying the Z5 the envelope reports.

import { safeName, safeText } from '../executor/echo.js';
import { JsonLimitError, parseJson, REQUEST_BOUNDS } from '../executor/json-value.js';
import { AvroDecodeError, decodeAvroRequest } from './avro.js';
import { messageError, z5 } from './envelope.js';
import {
  isObject,
  isZReference,
  isZString,
  listItems,
  normalize,
  resolveType,
  type ZNode,
  ZObjectFormatError,
  zRef,
  zString,
} from './zobject.js';

export interface Argument {
  /** The argument's key (Z1000K1). */
  readonly key: string;
  readonly value: ZNode;
  /** The declared type (Z17K1), when the request carries the function's declarations. */
  readonly declaredType?: ZNode | string;
}

export interface EvaluationRequest {
  /** Which wire form the request came in (for logs and tests). */
  readonly form: string;
  /** The programming language as the request names it: a name or a ZID (Z6xx). */
  readonly language: string;
  readonly code: string;
  readonly functionName: string;
  /** Positional arguments, in declaration (or key) order. */
  readonly args: readonly Argument[];
  /** The declared return type (Z8K2), when known. */
  readonly returnType?: ZNode | string;
  /** Milliseconds the caller says it has left (0.0.4 and the flat form); see evaluate.ts remainingLimit. */
  readonly remainingTime?: number;
  readonly reentrant: boolean;
  /** A compact Z7 of the call (function reference + arguments), quoted in error reports. */
  readonly call: ZNode;
}

/** A request that cannot be evaluated; `z5` is the error the envelope reports. */
export class RequestError extends Error {
  constructor(
    readonly z5: ZNode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

// Messages and properties quote the request (keys, paths, names): made safe to echo here, the
// one place every request error is built.
const invalid = (message: string): RequestError => {
  const safe = safeText(message);
  return new RequestError(z5('Z561', messageError(safe)), safe);
};
const missing = (property: string, message: string): RequestError =>
  new RequestError(z5('Z562', zString(safeName(property))), safeText(message));

const AVRO_TYPES = /^(?:application\/(?:octet-stream|avro|x-avro|avro-binary)|avro\/binary)\b/i;
const IDENTIFIER = /^[A-Za-z_$][\w$]{0,127}$/;
const FLAT_KEYS = ['codingLanguage', 'codeString', 'functionName', 'functionArguments'];

/**
 * Decodes a request body.
 * @throws RequestError
 */
export function decodeRequest(body: Uint8Array, contentType: string | undefined): EvaluationRequest {
  try {
    return AVRO_TYPES.test(contentType ?? '') ? decodeAvro(body) : decodeJson(body);
  } catch (error) {
    if (error instanceof RequestError) throw error;
    if (error instanceof ZObjectFormatError || error instanceof AvroDecodeError) throw invalid(error.message);
    if (error instanceof RangeError) throw invalid('The request is nested too deeply');
    throw error;
  }
}

function decodeAvro(body: Uint8Array): EvaluationRequest {
  const request = decodeAvroRequest(body);
  const form = `avro-${request.version}`;
  switch (request.version) {
    case '0.0.1':
      return fromZ7(request.zobject, { form, reentrant: false });
    case '0.0.2':
      return fromZ7(request.zobject, { form, reentrant: request.reentrant });
    default:
      return fromFlat(request, form);
  }
}

const UTF8 = new TextDecoder('utf-8');

function decodeJson(body: Uint8Array): EvaluationRequest {
  const text = UTF8.decode(body);
  let parsed: unknown;
  try {
    // Bounded: parsing runs on the HTTP thread (see JsonBounds).
    parsed = parseJson(text, REQUEST_BOUNDS);
  } catch (error) {
    if (error instanceof JsonLimitError) throw invalid(`Cannot parse the request: ${error.message}`);
    const reason = safeText((error as Error).message);
    throw new RequestError(
      z5('Z561', z5('Z501', zString(reason), zString(safeText(text, 200)))),
      `The body is not valid JSON: ${reason}`,
    );
  }
  if (!isObject(parsed))
    throw invalid('The body must be a JSON object: a function call (Z7) or a flat request');
  if (Object.hasOwn(parsed, 'zobject')) {
    const reentrant = parsed.reentrant === true;
    return fromZ7(parsed.zobject, { form: 'json-wrapped', reentrant });
  }
  if (FLAT_KEYS.some((key) => Object.hasOwn(parsed, key))) return fromFlat(parsed, 'json-flat');
  return fromZ7(parsed, { form: 'json', reentrant: false });
}

// ---------------------------------------------------------------------------------------------
// The flat form

function fromFlat(request: Readonly<Record<string, unknown>>, form: string): EvaluationRequest {
  const { functionName, codeString, codingLanguage, functionArguments, remainingTime } = request;
  if (typeof functionName !== 'string' || functionName === '') {
    throw missing('functionName', 'Function call did not provide functionName.');
  }
  if (typeof codeString !== 'string')
    throw missing('codeString', 'Function call did not provide codeString.');
  if (typeof codingLanguage !== 'string' || codingLanguage === '') {
    throw missing('codingLanguage', 'Function call did not provide codingLanguage.');
  }
  checkFunctionName(functionName);
  if (functionArguments !== undefined && !isObject(functionArguments)) {
    throw invalid('functionArguments must be an object of argument key → ZObject');
  }
  const args = orderKeys(Object.keys(functionArguments ?? {}), functionName).map(
    (key): Argument => ({ key, value: normalize((functionArguments as Record<string, unknown>)[key], key) }),
  );
  return {
    form,
    language: codingLanguage,
    code: codeString,
    functionName,
    args,
    ...remainingTimeOf(remainingTime),
    reentrant: request.reentrant === true,
    call: callOf(functionName, args),
  };
}

function remainingTimeOf(value: unknown): { remainingTime?: number } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid('remainingTime must be a number (milliseconds)');
  return { remainingTime: value };
}

function checkFunctionName(name: string): void {
  if (!IDENTIFIER.test(name)) {
    throw invalid(`functionName "${safeName(name)}" is not an identifier the code can define`);
  }
}

/** Argument keys in positional order: by their K-number (Z1000K2 before Z1000K10), others after. */
function orderKeys(keys: readonly string[], functionName: string): string[] {
  const index = (key: string): number => {
    const local = key.startsWith(functionName) ? key.slice(functionName.length) : key;
    const match = /^K([1-9]\d*)$/.exec(local);
    return match === null ? Number.POSITIVE_INFINITY : Number(match[1]);
  };
  return [...keys].sort((a, b) => index(a) - index(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function callOf(functionName: string, args: readonly Argument[]): ZNode {
  const callee = /^Z[1-9]\d*$/.test(functionName) ? zRef(functionName) : zString(functionName);
  const call: ZNode = { Z1K1: zRef('Z7'), Z7K1: callee };
  for (const arg of args) call[arg.key] = arg.value;
  return call;
}

// ---------------------------------------------------------------------------------------------
// Function calls (Z7)

/** The reference's words when the function cannot be read (its tests look for them). */
const NO_LANGUAGE = 'Unable to find programming language in function call.';

function fromZ7(raw: unknown, context: { form: string; reentrant: boolean }): EvaluationRequest {
  let z7: ZNode;
  try {
    z7 = normalize(raw);
  } catch (error) {
    if (error instanceof ZObjectFormatError && /^Z7K1\b/.test(error.path))
      throw invalid(`${NO_LANGUAGE} ${error.message}`);
    throw error;
  }
  if (resolveType(z7.Z1K1).zid !== 'Z7') throw invalid('The request is not a function call (Z7)');
  const z8 = z7.Z7K1;
  if (z8 === undefined) {
    throw missing(
      'Z7K1',
      `${NO_LANGUAGE} Function call did not provide functionName. It has no function (Z7K1).`,
    );
  }
  if (typeof z8 === 'string' || isZReference(z8)) {
    const name = typeof z8 === 'string' ? z8 : z8.Z9K1;
    throw invalid(
      `Z7K1 must be the function itself (a Z8), not a reference to ${name}: the evaluator does not fetch objects`,
    );
  }
  if (resolveType(z8.Z1K1).zid !== 'Z8') throw invalid(`${NO_LANGUAGE} Z7K1 is not a function (Z8).`);
  const identity = z8.Z8K5;
  if (!isZReference(identity))
    throw missing('Z8K5', 'Function call did not provide functionName. Its function has no identity (Z8K5).');
  const functionName = identity.Z9K1;
  checkFunctionName(functionName);

  const implementation = codeImplementation(z8);
  const z16 = implementation.Z14K3 as ZNode;
  const language = languageOf(z16.Z16K1);
  const code = z16.Z16K2;
  if (!isZString(code)) throw missing('Z16K2', 'Function call did not provide codeString (Z16K2).');

  const args = argumentsOf(z7, z8, functionName);
  const returnType = z8.Z8K2;
  return {
    form: context.form,
    language,
    code: code.Z6K1,
    functionName,
    args,
    ...(returnType === undefined ? {} : { returnType }),
    reentrant: context.reentrant,
    call: callOf(functionName, args),
  };
}

function codeImplementation(z8: ZNode): ZNode {
  const implementations = z8.Z8K4;
  if (typeof implementations !== 'object') {
    throw missing(
      'Z8K4',
      'Unable to find programming language in function call: it has no implementations (Z8K4).',
    );
  }
  // The orchestrator sends the implementation it chose first; compositions and built-ins (no Z14K3)
  // are not for an evaluator, so take the first implementation that has code.
  for (const z14 of listItems(implementations)) {
    if (typeof z14.Z14K3 === 'object') return z14;
  }
  throw missing(
    'Z14K3',
    'Unable to find programming language in function call: no implementation has code (Z14K3).',
  );
}

function languageOf(z61: ZNode | string | undefined): string {
  if (isZReference(z61)) return z61.Z9K1; // a persistent language object, e.g. Z610
  if (typeof z61 === 'object') {
    const name = z61.Z61K1;
    if (isZString(name) && name.Z6K1 !== '') return name.Z6K1;
  }
  throw missing('Z16K1', 'Unable to find programming language in function call (Z16K1).');
}

function argumentsOf(z7: ZNode, z8: ZNode, functionName: string): Argument[] {
  const declarations = typeof z8.Z8K1 === 'object' ? listItems(z8.Z8K1) : [];
  const declared = declarations.map((z17, i) => {
    const key = z17.Z17K2;
    if (resolveType(z17.Z1K1).zid !== 'Z17' || !isZString(key) || z17.Z17K1 === undefined) {
      throw invalid(`Z8K1 item ${i + 1} is not an argument declaration (Z17 with Z17K1 and Z17K2)`);
    }
    return { key: key.Z6K1, type: z17.Z17K1 };
  });
  if (declared.length > 0) {
    return declared.map(({ key, type }): Argument => {
      const local = key.startsWith(functionName) ? key.slice(functionName.length) : undefined;
      const value = z7[key] ?? (local === undefined ? undefined : z7[local]);
      if (typeof value !== 'object') throw missing(key, `Function call did not provide the argument ${key}.`);
      return { key, value, declaredType: type };
    });
  }
  const keys = Object.keys(z7).filter((key) =>
    /^K[1-9]\d*$/.test(key.startsWith(functionName) ? key.slice(functionName.length) : key),
  );
  return orderKeys(keys, functionName).map((key): Argument => ({ key, value: z7[key] as ZNode }));
}
