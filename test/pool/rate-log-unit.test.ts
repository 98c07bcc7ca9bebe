/**
 * The rate window the pool's admission and the shared MemoryStore count `rpm` / `tpm` in: held
 * to a plain list filtered on each question (the model), under random admissions, corrections,
 * admissions taken back, late ones put in their place, and time passing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLog, type RateEntry } from '../../src/pool/rate-log.js';

const WINDOW = 1_000;

type Op =
  | { readonly kind: 'push'; readonly dt: number; readonly tokens: number }
  | { readonly kind: 'correct'; readonly pick: number; readonly tokens: number }
  | { readonly kind: 'remove'; readonly pick: number }
  | { readonly kind: 'insert'; readonly back: number; readonly tokens: number }
  | { readonly kind: 'expire'; readonly dt: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), dt: fc.nat(300), tokens: fc.nat(50) }) },
  fc.record({ kind: fc.constant('correct' as const), pick: fc.nat(), tokens: fc.nat(50) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), back: fc.nat(1_500), tokens: fc.nat(50) }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('expire' as const), dt: fc.nat(800) }) },
);

describe('RateLog', () => {
  it('counts what a plain list of the last window counts, however its entries come and go', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const log = new RateLog(WINDOW);
        let model: RateEntry[] = []; // what the window holds, in time order
        let now = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            now += o.dt;
            const e = { at: now, tokens: o.tokens };
            log.push(e);
            model.push(e);
          } else if (o.kind === 'correct' && model.length > 0) {
            const e = model[o.pick % model.length]!;
            log.correct(e, o.tokens); // the same object: the model sees it too
          } else if (o.kind === 'remove' && model.length > 0) {
            const e = model[o.pick % model.length]!;
            log.remove(e);
            model = model.filter((m) => m !== e);
          } else if (o.kind === 'insert') {
            const e = { at: Math.max(0, now - o.back), tokens: o.tokens };
            if (now - e.at >= WINDOW) continue; // already out of the window: never counted late
            log.insert(e);
            model.push(e);
            model.sort((a, b) => a.at - b.at);
          } else if (o.kind === 'expire') {
            now += o.dt;
            const dropped: RateEntry[] = [];
            log.expire(now, (e) => dropped.push(e));
            const kept = model.filter((e) => now - e.at < WINDOW);
            expect(dropped).toEqual(model.filter((e) => now - e.at >= WINDOW));
            model = kept;
          }
          expect(log.count).toBe(model.length);
          expect(log.tokens).toBe(model.reduce((t, e) => t + e.tokens, 0));
          expect(log.oldest).toBe(model[0]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('after a long run of admissions holds only the last window of them', () => {
    const log = new RateLog(WINDOW);
    for (let t = 0; t < 100_000; t += 10) {
      log.push({ at: t, tokens: 1 });
      log.expire(t);
    }
    expect(log.count).toBe(WINDOW / 10);
    expect(log.tokens).toBe(WINDOW / 10);
  });
});
