// Builders for the common shape of attack: one call of /v1/evaluate whose answer must end a given
// way. The attacks (./attacks/<family>.ts) are data built with these; the harness (./harness.ts)
// runs them and applies the checks every attack must pass.

import { expect } from 'vitest';
import type { Attack, HttpAnswer } from './harness.js';

export interface EvaluateAttack {
  readonly id: string;
  readonly title: string;
  readonly result: string;
  readonly finding?: string;
  readonly contained?: string;
  readonly language: string;
  readonly code: string;
  readonly fn?: string;
  readonly args?: unknown[];
  readonly limits?: Record<string, number>;
  readonly codec?: string;
  /** The error codes the call may end with (any of them); omit when `check` decides. */
  readonly codes?: readonly string[];
  /** Further assertions on the answer's body (status 200 is checked before); `text` is the raw body. */
  readonly check?: (body: HttpAnswer['body'], text: string) => void;
  readonly timeoutMs?: number;
}

/** An attack that is one call of /v1/evaluate. */
export function evaluateAttack(spec: EvaluateAttack): Attack {
  return {
    id: spec.id,
    title: spec.title,
    result: spec.result,
    ...(spec.finding === undefined ? {} : { finding: spec.finding }),
    ...(spec.contained === undefined ? {} : { contained: spec.contained }),
    ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
    async run(h) {
      const answer = await h.evaluate(spec.language, spec.code, {
        ...(spec.fn === undefined ? {} : { fn: spec.fn }),
        ...(spec.args === undefined ? {} : { args: spec.args }),
        ...(spec.limits === undefined ? {} : { limits: spec.limits }),
        ...(spec.codec === undefined ? {} : { codec: spec.codec }),
      });
      expect(answer.status, answer.text.slice(0, 500)).toBe(200);
      if (spec.codes !== undefined) {
        expect(answer.body.ok, answer.text.slice(0, 500)).toBe(false);
        expect(spec.codes, `${answer.body.error?.code}: ${answer.body.error?.message}`).toContain(
          answer.body.error?.code,
        );
      }
      spec.check?.(answer.body, answer.text);
    },
  };
}
