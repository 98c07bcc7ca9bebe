import type { Price, Usage } from './types.js';

/**
 * What an answer cost in US dollars: its usage at its worker's price; undefined unless both are
 * known (a cost is never guessed). @internal
 */
export function costOf(u: Usage | undefined, p: Price | undefined): number | undefined {
  if (u === undefined || p === undefined || (u.promptTokens === undefined && u.completionTokens === undefined)) return undefined;
  return ((u.promptTokens ?? 0) * p.inputPerMTok + (u.completionTokens ?? 0) * p.outputPerMTok) / 1_000_000;
}
