import { messageText, type ChatMessage } from '../behaviour/types.js';
import { InvalidArgumentError } from '../errors/runtime.js';

/**
 * Decides a request's route (a worker tag) from its messages; undefined: any worker. It may be
 * async (an LLM classifier asking a small model of the pool: give that request its own `route`,
 * which bypasses the router). A router that throws or rejects leaves the request unrouted.
 */
export type Router = (messages: readonly ChatMessage[]) => string | undefined | Promise<string | undefined>;

/**
 * One rule of {@link rulesRouter}, matched against the last user message: every condition given
 * must hold. In a config file, `routes: [{ "tag": "code", "pattern": "```|function " }]`.
 */
export interface RouteRule {
  /** The tag to route to when the rule matches. */
  readonly tag: string;
  /** Any of these words or phrases (case-insensitive). */
  readonly keywords?: readonly string[];
  /** A regular expression (case-insensitive). */
  readonly pattern?: string;
  /** At most this many characters (a short question: `fast`). */
  readonly maxChars?: number;
  /** At least this many characters. */
  readonly minChars?: number;
}

/**
 * A rule-based router: the first rule whose conditions all hold on the last user message gives
 * the route; none: any worker. Code to a code model, translations to a translation model, short
 * questions to a fast one.
 * @throws InvalidArgumentError naming the rule and field that is wrong (a bad regular expression too).
 * @example
 * const route = rulesRouter([
 *   { tag: 'code', pattern: '```|\\bfunction\\b|\\bclass\\b' },
 *   { tag: 'translate', keywords: ['translate', 'in french'] },
 *   { tag: 'fast', maxChars: 80 },
 * ]);
 */
export function rulesRouter(rules: readonly RouteRule[]): Router {
  if (!Array.isArray(rules)) throw new InvalidArgumentError('routes', 'a list of rules { tag, keywords?, pattern?, maxChars?, minChars? }', rules);
  const compiled = rules.map((r, i) => compile(r, `routes[${i}]`));
  return (messages) => {
    let text: string | undefined;
    for (let i = messages.length - 1; i >= 0 && text === undefined; i--) if (messages[i]!.role === 'user') text = messageText(messages[i]!);
    if (text === undefined) return undefined;
    const lower = text.toLowerCase();
    for (const r of compiled) if (r.matches(text, lower)) return r.tag;
    return undefined;
  };
}

function compile(r: RouteRule, field: string): { tag: string; matches(text: string, lower: string): boolean } {
  if (typeof r !== 'object' || r === null) throw new InvalidArgumentError(field, 'a rule { tag, keywords?, pattern?, maxChars?, minChars? }', r);
  if (typeof r.tag !== 'string' || r.tag.trim() === '') throw new InvalidArgumentError(`${field}.tag`, 'a non-empty tag', r.tag);
  const keywords = r.keywords?.map((k, j) => {
    if (typeof k !== 'string' || k === '') throw new InvalidArgumentError(`${field}.keywords[${j}]`, 'a non-empty string', k);
    return k.toLowerCase();
  });
  let re: RegExp | undefined;
  if (r.pattern !== undefined) {
    try {
      re = new RegExp(r.pattern, 'i');
    } catch {
      throw new InvalidArgumentError(`${field}.pattern`, 'a valid regular expression', r.pattern);
    }
  }
  for (const k of ['maxChars', 'minChars'] as const) {
    const v = r[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new InvalidArgumentError(`${field}.${k}`, 'a whole number >= 0', v);
  }
  const { maxChars, minChars } = r;
  return {
    tag: r.tag,
    matches: (text, lower) =>
      (keywords === undefined || keywords.some((k) => lower.includes(k))) &&
      (re === undefined || re.test(text)) &&
      (maxChars === undefined || text.length <= maxChars) &&
      (minChars === undefined || text.length >= minChars),
  };
}

/** The router's decision: a tag, undefined, or a promise of one (a router that fails routes nowhere). @internal */
export function decide(route: Router | undefined, messages: readonly ChatMessage[]): string | undefined | Promise<string | undefined> {
  if (route === undefined) return undefined;
  try {
    const tag = route(messages);
    if (tag instanceof Promise) return tag.then(validTag, () => undefined);
    return validTag(tag);
  } catch {
    return undefined;
  }
}

function validTag(tag: unknown): string | undefined {
  return typeof tag === 'string' && tag !== '' ? tag : undefined;
}
