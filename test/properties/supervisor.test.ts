import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cast,
  createSystem,
  recordRestart,
  SimulatedClock,
  startSupervisor,
  stop,
  stopping,
  type Behaviour,
  type RestartType,
  type Strategy,
} from '../../src/index.js';

type P = { cast: { type: 'crash' } | { type: 'quit' } };
const settle = async () => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

type Action = { kind: 'crash' | 'quit'; child: number } | { kind: 'advance'; ms: number };

/** A small model of OTP's supervisor semantics. */
class Model {
  running: boolean[];
  present: boolean[];
  starts: number[];
  history: number[] = [];
  alive = true;
  now = 0;
  constructor(
    readonly strategy: Strategy,
    readonly types: RestartType[],
    readonly maxRestarts: number,
    readonly maxSeconds: number,
  ) {
    this.running = types.map(() => true);
    this.present = types.map(() => true);
    this.starts = types.map(() => 1);
  }
  exit(i: number, abnormal: boolean): void {
    if (!this.alive || !this.running[i]) return;
    this.running[i] = false;
    const t = this.types[i]!;
    if (t === 'temporary') {
      this.present[i] = false;
      return;
    }
    if (t === 'transient' && !abnormal) return;
    const check = recordRestart(this.history, this.now, this.maxRestarts, this.maxSeconds);
    this.history = [...check.history];
    if (check.exceeded) {
      this.alive = false;
      this.running = this.running.map(() => false);
      return;
    }
    const group =
      this.strategy === 'one_for_one'
        ? [i]
        : this.types.map((_, j) => j).filter((j) => this.present[j] && (this.strategy === 'one_for_all' || j >= i));
    for (const j of group) {
      if (j !== i && this.types[j] === 'temporary') {
        this.running[j] = false;
        this.present[j] = false;
        continue;
      }
      this.running[j] = true;
      this.starts[j]!++;
    }
  }
}

describe('supervisor against a model of OTP semantics', () => {
  it('random crashes, exits and clock advances: who restarts, restart counts, when intensity escalates', async () => {
    const types = fc.constantFrom<RestartType>('permanent', 'transient', 'temporary');
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ kind: fc.constantFrom<'crash' | 'quit'>('crash', 'quit'), child: fc.nat({ max: 3 }) }),
      fc.record({ kind: fc.constant<'advance'>('advance'), ms: fc.integer({ min: 1, max: 3_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Strategy>('one_for_one', 'one_for_all', 'rest_for_one'),
        fc.array(types, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(action, { maxLength: 25 }),
        async (strategy, childTypes, maxRestarts, maxSeconds, actions) => {
          const clock = new SimulatedClock();
          const system = createSystem({ clock });
          const starts = childTypes.map(() => 0);
          const behaviour = (i: number): Behaviour<null, P> => ({
            init: () => (starts[i]!++, null),
            handleCast: (m, s) => {
              if (m.type === 'crash') throw new Error('crash');
              return stopping('normal', s);
            },
          });
          const sup = await startSupervisor(system, {
            strategy,
            maxRestarts,
            maxSeconds,
            children: childTypes.map((restart, i) => ({ id: `c${i}`, restart, start: () => system.spawn(behaviour(i), undefined, { name: `c${i}` }) })),
          });
          const model = new Model(strategy, childTypes, maxRestarts, maxSeconds);
          for (const a of actions) {
            if (a.kind === 'advance') {
              await clock.advance(a.ms);
              model.now += a.ms;
              continue;
            }
            const i = a.child % childTypes.length;
            const ref = system.whereis<P>(`c${i}`);
            expect(ref !== undefined).toBe(model.alive && model.running[i]);
            if (ref === undefined) continue;
            cast(ref, { type: a.kind });
            await settle();
            model.exit(i, a.kind === 'crash');
            expect(sup.exited).toBe(!model.alive);
            expect(starts).toEqual(model.starts);
            expect(childTypes.map((_, j) => system.whereis(`c${j}`) !== undefined)).toEqual(model.running);
          }
          if (!sup.exited) await stop(sup, 'shutdown');
          expect(system.size).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
