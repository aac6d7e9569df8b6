// The shared conformance cases: their schema and loader. A case is one JSON file in
// test/conformance/cases/<nnn>-<name>.json; each language supplies the guest code for it in
// interpreters/<id>/conformance/<nnn>-<name>.<fixtureExtension>. The case says which function to
// call with which JSON arguments and limits, and what must come back. Case files are parsed with
// the service's own lossless JSON parser, so integers beyond 2^53 in `args` and `expect.value`
// stay exact.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { GUEST_ERROR_CODES, type GuestErrorCode } from '../../src/errors.js';
import { type JsonValue, parseJson } from '../../src/executor/json-value.js';
import { projectRoot } from '../../src/paths.js';

/** Where the case files live. */
export const casesDir: URL = new URL('test/conformance/cases/', projectRoot);

/** A case's file name without .json: three digits, a dash, lowercase words. */
export const CASE_NAME = /^\d{3}-[a-z0-9]+(?:-[a-z0-9]+)*$/;

const errorCode = z.enum(GUEST_ERROR_CODES as [GuestErrorCode, ...GuestErrorCode[]]);

/** What a stream (stdout or stderr) must hold: exact text, or properties of it. */
const streamExpectation = z.union([
  z.string(),
  z
    .object({
      startsWith: z.string().optional(),
      contains: z.string().optional(),
      /** At most this many UTF-8 bytes. */
      maxBytes: z.number().int().nonnegative().optional(),
    })
    .strict(),
]);

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number(),
    z.bigint(),
    z.string(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

export const caseSchema = z
  .object({
    /** One sentence: what the case pins down. */
    description: z.string().min(10),
    /** The entry function the fixture must define. */
    function: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    args: z.array(jsonValue).default([]),
    limits: z
      .object({
        timeoutMs: z.number().int().positive(),
        memoryMb: z.number().int().positive(),
        outputBytes: z.number().int().positive(),
      })
      .partial()
      .strict()
      .optional(),
    expect: z.union([
      z.object({ value: jsonValue }).strict(),
      z
        .object({
          error: z
            .object({
              /** The code, or the codes any of which is a correct answer. */
              code: z.union([errorCode, z.array(errorCode).min(1)]),
              /** A substring of the message (case-insensitive). */
              message: z.string().min(1).optional(),
              /** The 1-based line in the fixture the error must be attributed to. */
              line: z.number().int().positive().optional(),
            })
            .strict(),
        })
        .strict(),
    ]),
    stdout: streamExpectation.optional(),
    stderr: streamExpectation.optional(),
    /** The answer must arrive within this many ms of sending the request (limit cases). */
    maxMs: z.number().int().positive().optional(),
    /** Run the call this many times; every run must meet the expectation (isolation cases). */
    repeat: z.number().int().min(1).max(20).default(1),
  })
  .strict();

export type CaseSpec = z.infer<typeof caseSchema>;
export type StreamExpectation = z.infer<typeof streamExpectation>;

export interface ConformanceCase extends CaseSpec {
  /** File name without .json, e.g. "001-add-integers". */
  readonly name: string;
}

/** Reads and validates every case, sorted by name; throws naming the file and field on any problem. */
export function loadCases(dir: URL = casesDir): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const file of readdirSync(fileURLToPath(dir)).sort()) {
    if (!file.endsWith('.json')) continue;
    const name = file.slice(0, -'.json'.length);
    if (!CASE_NAME.test(name))
      throw new Error(`Conformance case file name ${file} must look like 001-some-name.json`);
    const path = fileURLToPath(new URL(file, dir));
    let raw: unknown;
    try {
      raw = parseJson(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`Cannot read conformance case ${path}: ${(error as Error).message}`);
    }
    const parsed = caseSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new Error(`Invalid conformance case ${path}: ${issues}`);
    }
    cases.push({ name, ...parsed.data });
  }
  return cases;
}

/** The codes a case accepts, as a list. */
export function acceptedCodes(spec: CaseSpec): readonly GuestErrorCode[] | undefined {
  if (!('error' in spec.expect)) return undefined;
  const { code } = spec.expect.error;
  return typeof code === 'string' ? [code] : code;
}
