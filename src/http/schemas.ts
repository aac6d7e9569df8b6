// zod schemas of the native API's bodies: the single source for validation (and for the OpenAPI
// document). Values inside `args` are JSON; integers beyond 2^53 arrive as bigint from parseJson.

import { z } from 'zod';

export const MAX_ARGS_DEPTH = 256;

export const limitsSchema = z
  .object({
    timeoutMs: z.number().int().positive().describe('Wall-time limit in ms (clamped to the ceiling).'),
    memoryMb: z.number().int().positive().describe('Memory limit in MiB (clamped to the ceiling).'),
    outputBytes: z.number().int().positive().describe('Output limit in bytes (clamped to the ceiling).'),
  })
  .partial()
  .strict();

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
  })
  .strict()
  .refine((body) => (body.code === undefined) !== (body.module === undefined), {
    message: 'exactly one of "code" and "module" is required',
    path: ['code'],
  });

export type EvaluateRequest = z.infer<typeof evaluateRequestSchema>;

export const deployRequestSchema = z
  .object({
    language: z.string().min(1).max(64),
    code: z.string().min(1),
  })
  .strict();

/** Turns zod issues into one readable sentence naming each field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
