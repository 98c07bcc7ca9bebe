/** Test children shared by the supervisor suites. */
import { reply, stopping, type Behaviour, type SimulatedClock } from '../../src/index.js';

/** What a test child takes: `ping` calls, and casts that crash it, end it normally, or hang it. */
export type WorkerP = { call: { type: 'ping' }; replies: { ping: string }; cast: { type: 'crash' } | { type: 'quit' } | { type: 'hang' } };

/** A child that logs its lifecycle; `cast crash` crashes it, `cast quit` exits normally. */
export function worker(log: string[], id: string, stopMs = 0, clock?: SimulatedClock): Behaviour<null, WorkerP> {
  return {
    init: () => (log.push(`start ${id}`), null),
    handleCall: (_m, s) => reply(`pong ${id}`, s),
    handleCast(msg, s) {
      if (msg.type === 'crash') throw new Error(`${id} crashed`);
      if (msg.type === 'hang') return new Promise(() => {});
      return stopping('normal', s);
    },
    terminate: (reason) =>
      stopMs > 0
        ? new Promise<void>((r) => clock!.setTimeout(() => (log.push(`stop ${id}`), r()), stopMs))
        : void log.push(`stop ${id} ${typeof reason === 'string' ? reason : 'error'}`),
  };
}

