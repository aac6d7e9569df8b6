// The schema of interpreters/<id>/manifest.json: the data that makes a folder a language. It is
// validated once at boot; a manifest that does not match stops the service with a message naming
// the file and the field.

import { z } from 'zod';

const limitRange = z
  .object({
    default: z.number().int().positive().optional(),
    max: z.number().int().positive().optional(),
    /**
     * The least the engine runs in (memoryMb: the memory the engine itself takes before any guest
     * code, as stats.memoryBytes reports it). A call asking for less is refused with 400.
     */
    min: z.number().int().positive().optional(),
  })
  .strict();

export const manifestSchema = z
  .object({
    /** Equals the folder name: lowercase letters, digits and dashes. */
    id: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lowercase letters, digits and dashes'),
    displayName: z.string().min(1),
    aliases: z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/)).default([]),
    engine: z
      .object({
        name: z.string().min(1),
        /** npm package that carries the engine; its installed version is reported. */
        package: z.string().min(1).optional(),
        homepage: z.string().url().optional(),
      })
      .strict(),
    /** Executor module, relative to the folder (compiled to .js in dist). */
    executor: z.string().default('executor.js'),
    /** Extension of conformance fixtures, without the dot. */
    fixtureExtension: z.string().regex(/^[a-z0-9]+$/),
    /** What `code` holds: source text, or binary as base64 (and/or text formats the executor compiles). */
    codeFormat: z.enum(['source', 'binary-or-text']).default('source'),
    /** Value codecs the executor implements besides plain JSON (e.g. "zobject"). */
    codecs: z.array(z.string()).default([]),
    limits: z
      .object({
        timeoutMs: limitRange.optional(),
        memoryMb: limitRange.optional(),
        outputBytes: limitRange.optional(),
      })
      .strict()
      .default({}),
    /** The playground editor's highlighting for this language's code (CodeMirror 6 language modules). */
    editor: z
      .object({ mode: z.enum(['lang-javascript', 'lang-python', 'legacy-lua', 'legacy-wast']) })
      .strict()
      .optional(),
    /** Conformance cases this language skips, each with the reason. */
    conformanceSkips: z.record(z.string(), z.string().min(10, 'a skip needs a written reason')).default({}),
    /** Wikifunctions programming-language names and ZIDs that route here. */
    wikifunctions: z
      .object({
        names: z.array(z.string()),
        zids: z.array(z.string()),
        /** The runner serves Call.callOut: guests may call other functions (reentrance). */
        reentrant: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;
