import type { Price, Usage } from './types.js';

/** An answer's tokens in all (prompt and completion), or undefined when it reported neither. @internal */
export function totalTokens(u: Usage | undefined): number | undefined {
  if (u === undefined || (u.promptTokens === undefined && u.completionTokens === undefined)) return undefined;
  return (u.promptTokens ?? 0) + (u.completionTokens ?? 0);
}

/**
 * What an answer cost in US dollars: its usage at its worker's price; undefined unless both are
 * known (a cost is never guessed). @internal
 */
export function costOf(u: Usage | undefined, p: Price | undefined): number | undefined {
  if (u === undefined || p === undefined || (u.promptTokens === undefined && u.completionTokens === undefined)) return undefined;
  return ((u.promptTokens ?? 0) * p.inputPerMTok + (u.completionTokens ?? 0) * p.outputPerMTok) / 1_000_000;
}
