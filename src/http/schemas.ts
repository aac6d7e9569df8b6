// zod schemas of the native API's bodies: the single source for validation and for the OpenAPI
// document (src/http/openapi.ts turns every schema registered in `apiSchemas` into a component).
// Values inside `args` are JSON; integers beyond 2^53 arrive as bigint from parseJson. The answer
// schemas are documentation only: answers are built by the orchestrator from typed results.

import { z } from 'zod';
import { GUEST_ERROR_CODES, GUEST_ERRORS, PROBLEMS, type ProblemType, ServiceError } from '../errors.js';
import { NAME_MAX_CHARS, safeText } from '../executor/echo.js';

/** Every schema that becomes a named OpenAPI component (`id` is its name). */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

export const MAX_ARGS_DEPTH = 256;

export const limitsSchema = z
  .object({
    timeoutMs: z.number().int().positive().describe('Wall-time limit in ms (clamped to the ceiling).'),
    memoryMb: z.number().int().positive().describe('Memory limit in MiB (clamped to the ceiling).'),
    outputBytes: z.number().int().positive().describe('Output limit in bytes (clamped to the ceiling).'),
  })
  .partial()
  .strict()
  .register(apiSchemas, {
    id: 'LimitRequest',
    description:
      'Limits a call asks for. Each is optional (the language default applies) and clamped to the ceiling; see GET /v1/languages.',
  });

export const evaluateRequestSchema = z
  .object({
    language: z.string().min(1).max(64).describe('Language id or alias (see GET /v1/languages).'),
    code: z.string().optional().describe('Source code; for binary languages, base64 or a text format.'),
    module: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,128}$/)
      .optional()
      .describe('Id of a module deployed with POST /v1/modules, instead of code.'),
    function: z.string().min(1).max(256).default('main').describe('Name of the function to call.'),
    args: z.array(z.unknown()).default([]).describe('Positional arguments, as JSON.'),
    limits: limitsSchema.optional(),
    codec: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/)
      .optional()
      .describe(
        'How args and result map to guest values: "json" (default) or one of the language\'s codecs.',
      ),
  })
  .strict()
  .refine((body) => (body.code === undefined) !== (body.module === undefined), {
    message: 'exactly one of "code" and "module" is required',
    path: ['code'],
  })
  .register(apiSchemas, {
    id: 'EvaluateRequest',
    description: 'One function call. Exactly one of `code` and `module` is required.',
  });

export type EvaluateRequest = z.infer<typeof evaluateRequestSchema>;

export const deployRequestSchema = z
  .object({
    language: z.string().min(1).max(64).describe('Language id or alias; the language must support modules.'),
    code: z.string().min(1).describe('The module source (or binary as base64, per the language).'),
  })
  .strict()
  .register(apiSchemas, { id: 'DeployRequest', description: 'A module to validate, compile and keep.' });

// ---- Answers (documentation only) -------------------------------------------------------------

const limitsValues = z
  .object({
    timeoutMs: z.number().int().describe('Wall-time limit, ms.'),
    memoryMb: z.number().int().describe('Memory limit, MiB.'),
    outputBytes: z
      .number()
      .int()
      .describe('Output limit, bytes (stdout+stderr together; result separately).'),
  })
  .register(apiSchemas, { id: 'Limits', description: 'Limits as applied.' });

export const guestErrorSchema = z
  .object({
    code: z.enum(GUEST_ERROR_CODES as [string, ...string[]]).describe(
      `One code of a closed catalogue:\n${Object.entries(GUEST_ERRORS)
        .map(([code, doc]) => `- \`${code}\`: ${doc}`)
        .join('\n')}`,
    ),
    message: z.string().describe('Sentence-case message naming the failed action.'),
    line: z.number().int().optional().describe('1-based line in the code, where the engine tells it.'),
    column: z.number().int().optional().describe('1-based column, where the engine tells it.'),
    type: z.string().optional().describe('Exception type in the guest language, where there is one.'),
    stack: z.string().optional().describe("Guest stack trimmed to the user's frames."),
    exitCode: z.number().int().optional().describe('Exit status of a command-style guest.'),
  })
  .register(apiSchemas, { id: 'GuestError', description: 'Why a guest call failed.' });

const statsSchema = z
  .object({
    durationMs: z.number().describe('Wall time inside the sandbox host, ms.'),
    cpuMs: z.number().describe('CPU time of the sandbox on the call, ms.'),
    memoryBytes: z.number().describe("Memory held by the guest's engine, bytes."),
  })
  .catchall(z.number())
  .register(apiSchemas, {
    id: 'CallStats',
    description: 'Per-call measurements (engines may add counters).',
  });

const common = {
  stdout: z.string().describe('Captured stdout (capped by outputBytes).'),
  stderr: z.string().describe('Captured stderr (capped by outputBytes).'),
  stats: statsSchema,
  language: z.string().describe('The language id the call ran in.'),
  limits: limitsValues,
};

export const evaluateResponseSchema = z
  .discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), value: z.unknown().describe('The result, as JSON.'), ...common }),
    z.object({ ok: z.literal(false), error: guestErrorSchema, ...common }),
  ])
  .register(apiSchemas, {
    id: 'EvaluateResult',
    description:
      'The outcome of a call. A guest failure (error, time, memory or output limit) is HTTP 200 with ok: false.',
  });

export const deployResponseSchema = z
  .object({
    ok: z.literal(true),
    id: z.string().describe('Content-addressed module id, for `module` in POST /v1/evaluate.'),
    language: z.string(),
  })
  .catchall(z.unknown())
  .register(apiSchemas, { id: 'Deployment', description: 'A deployed module.' });

export const deployFailureSchema = z
  .object({ ok: z.literal(false), error: guestErrorSchema })
  .register(apiSchemas, { id: 'DeploymentFailure', description: 'The module could not be compiled.' });

const limitPair = z.object({
  defaults: limitsValues,
  ceilings: limitsValues,
  floors: limitsValues.describe(
    'The least a call may ask for (the memory an engine takes by itself); less is refused with 400.',
  ),
});

export const languagesResponseSchema = z
  .object({
    languages: z.array(
      z.object({
        id: z.string(),
        displayName: z.string(),
        aliases: z.array(z.string()),
        engine: z.object({
          name: z.string(),
          version: z.string(),
          package: z.string().optional(),
          packageVersion: z.string().optional(),
        }),
        limits: limitPair.describe('What a call gets by default, the most and the least it may ask for.'),
        pool: z.object({
          capacity: z.number().int().describe('Calls that run at once.'),
          queueMax: z.number().int().describe('Calls that may wait; beyond, 503.'),
          inFlight: z.number().int(),
          queued: z.number().int(),
        }),
        codecs: z.array(z.string()),
        deploy: z.boolean().describe('Whether POST /v1/modules works for this language.'),
        ready: z.boolean(),
        remote: z.array(z.string()).optional().describe('Remote evaluators running this language.'),
        counters: z
          .record(z.string(), z.number())
          .optional()
          .describe('Sandbox counters since start (spawned, recycled, killed, crashed), where reported.'),
        details: z.record(z.string(), z.unknown()).describe('Pool and isolation facts, free-form.'),
      }),
    ),
  })
  .register(apiSchemas, { id: 'Languages', description: 'Every enabled language.' });

export const readinessSchema = z
  .object({
    ready: z.boolean(),
    languages: z.record(
      z.string(),
      z.object({ ready: z.boolean(), details: z.record(z.string(), z.unknown()) }),
    ),
  })
  .register(apiSchemas, { id: 'Readiness', description: 'Readiness of every enabled language.' });

export const problemSchema = z
  .object({
    type: z.string().describe(
      `https://polyeval.dev/problems/<slug>, one of:\n${Object.entries(PROBLEMS)
        .map(([slug, p]) => `- \`${slug}\` (${p.status}): ${p.title}`)
        .join('\n')}`,
    ),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What exactly was wrong, naming the field or limit.'),
    instance: z.string().optional().describe('The request path.'),
    errors: z
      .array(
        z.object({
          pointer: z.string().describe('The field, as a JSON Pointer into the body ("/limits/timeoutMs").'),
          message: z.string(),
        }),
      )
      .optional()
      .describe('invalid-request: one entry per field that failed validation.'),
    allow: z
      .array(z.string())
      .optional()
      .describe('method-not-allowed: the methods the path takes (also in Allow).'),
  })
  .catchall(z.unknown())
  .register(apiSchemas, {
    id: 'Problem',
    description: 'RFC 9457 problem details (application/problem+json) for bad requests and our own failures.',
  });

/** The problem types each operation can answer with (documented per response status). */
export const OPERATION_PROBLEMS: Readonly<Record<string, readonly ProblemType[]>> = {
  evaluate: [
    'invalid-request',
    'unauthorized',
    'unknown-language',
    'unknown-module',
    'body-too-large',
    'unsupported-media-type',
    'overloaded',
    'language-unavailable',
    'shutting-down',
    'upstream-failed',
    'internal',
  ],
  deploy: [
    'invalid-request',
    'unauthorized',
    'unknown-language',
    'body-too-large',
    'unsupported-media-type',
    'language-unavailable',
    'upstream-failed',
    'internal',
  ],
};

/** One entry per field that failed validation, in `errors` of an invalid-request problem. */
export interface FieldError {
  /** The field, as a JSON Pointer (RFC 6901) into the body: "/limits/timeoutMs"; "" for the body itself. */
  readonly pointer: string;
  readonly message: string;
}

/** At most this many `errors` entries in one invalid-request problem. */
const MAX_FIELD_ERRORS = 20;

/** The invalid-request problem for a body that failed the schema: a sentence, and one entry per field. */
export function invalidRequest(error: z.ZodError): ServiceError {
  // Echoed input (a key, a path) is capped and escaped like every echoed text (src/executor/echo.ts),
  // and so is the number of entries: a body may have thousands of wrong fields.
  const errors: FieldError[] = error.issues.slice(0, MAX_FIELD_ERRORS).map((issue) => ({
    pointer: safeText(
      issue.path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''),
      NAME_MAX_CHARS,
      false,
    ),
    message: safeText(issue.message),
  }));
  return new ServiceError('invalid-request', `Invalid request: ${describeIssues(error)}`, {
    extra: { errors },
  });
}

/** Turns zod issues into one readable sentence naming each field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
