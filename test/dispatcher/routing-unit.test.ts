/**
 * The rule router and the router's decision, as pure functions: which message a rule reads, how
 * each condition matches at its edges, and every refusal naming its rule and field. (The pool's
 * side of routing, through real requests, is test/pool/routing.test.ts.)
 *
 * Mutation testing (npm run mutate, src/dispatcher/routing.ts, 97.8 %): survivors left as
 * equivalent: `if (r.pattern !== undefined)` -> `true` (`new RegExp(undefined)` matches
 * everything, as no pattern does); `if (route === undefined)` -> `false` and the empty `catch`
 * (calling no router throws, and a throw routes nowhere, as no router does).
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, rulesRouter, type ChatMessage, type RouteRule } from '../../src/index.js';
import { decide } from '../../src/dispatcher/routing.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const route = (rules: RouteRule[], ...messages: ChatMessage[]): string | undefined => rulesRouter(rules)(messages) as string | undefined;

/** The error `fn` throws. */
function refusal(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e;
    throw e;
  }
  throw new Error('no refusal');
}

describe('rulesRouter: what a rule reads', () => {
  it('reads the last user message, not a later assistant or tool message, and not an earlier user one', () => {
    const rules = [{ tag: 'code', keywords: ['function'] }];
    expect(route(rules, user('a function?'), { role: 'assistant', content: 'sure' })).toBe('code');
    expect(route(rules, user('a function?'), { role: 'assistant', content: 'sure' }, user('thanks'))).toBeUndefined();
  });

  it('routes nowhere when there is no user message', () => {
    expect(route([{ tag: 'any' }], { role: 'system', content: 'be brief' })).toBeUndefined();
    expect(route([{ tag: 'any' }])).toBeUndefined();
  });

  it('a rule with no condition matches any user message; the first rule that matches wins', () => {
    expect(route([{ tag: 'first', keywords: ['nope'] }, { tag: 'second' }, { tag: 'third' }], user('hi'))).toBe('second');
  });
});

describe('rulesRouter: each condition at its edges', () => {
  it('keywords: any one of them, in any case, on either side', () => {
    const rules = [{ tag: 'translate', keywords: ['Translate', 'in french'] }];
    expect(route(rules, user('TRANSLATE this'))).toBe('translate');
    expect(route(rules, user('say it IN FRENCH'))).toBe('translate'); // one of two is enough
    expect(route(rules, user('say it in german'))).toBeUndefined();
  });

  it('pattern: a case-insensitive regular expression on the text', () => {
    const rules = [{ tag: 'code', pattern: '\\bclass\\b' }];
    expect(route(rules, user('a CLASS here'))).toBe('code');
    expect(route(rules, user('classes'))).toBeUndefined();
  });

  it('maxChars and minChars include their bound', () => {
    const short = [{ tag: 'fast', maxChars: 5 }];
    expect(route(short, user('12345'))).toBe('fast');
    expect(route(short, user('123456'))).toBeUndefined();
    const long = [{ tag: 'deep', minChars: 5 }];
    expect(route(long, user('12345'))).toBe('deep');
    expect(route(long, user('1234'))).toBeUndefined();
    expect(route([{ tag: 'empty', maxChars: 0 }], user(''))).toBe('empty'); // 0 is a bound like any other
  });

  it('every condition given must hold', () => {
    const rules = [{ tag: 'short-code', keywords: ['fn'], maxChars: 10 }];
    expect(route(rules, user('fn x'))).toBe('short-code');
    expect(route(rules, user('fn and a long tail'))).toBeUndefined();
    expect(route(rules, user('short'))).toBeUndefined();
  });
});

describe('rulesRouter: refusals name the rule and the field', () => {
  const cases: Array<[string, unknown, string, string]> = [
    ['not a list', { tag: 'x' }, 'routes', 'a list of rules { tag, keywords?, pattern?, maxChars?, minChars? }'],
    ['a rule that is null', [null], 'routes[0]', 'a rule { tag, keywords?, pattern?, maxChars?, minChars? }'],
    ['a rule that is a string', ['code'], 'routes[0]', 'a rule { tag, keywords?, pattern?, maxChars?, minChars? }'],
    ['no tag', [{ tag: 'ok' }, { keywords: ['x'] }], 'routes[1].tag', 'a non-empty tag'],
    ['a blank tag', [{ tag: '  ' }], 'routes[0].tag', 'a non-empty tag'],
    ['a keyword that is empty', [{ tag: 't', keywords: ['ok', ''] }], 'routes[0].keywords[1]', 'a non-empty string'],
    ['a keyword that is a number', [{ tag: 't', keywords: [3] }], 'routes[0].keywords[0]', 'a non-empty string'],
    ['a bad regular expression', [{ tag: 't', pattern: '([' }], 'routes[0].pattern', 'a valid regular expression'],
    ['a negative maxChars', [{ tag: 't', maxChars: -1 }], 'routes[0].maxChars', 'a whole number >= 0'],
    ['a fractional minChars', [{ tag: 't', minChars: 1.5 }], 'routes[0].minChars', 'a whole number >= 0'],
    ['a negative minChars', [{ tag: 't', minChars: -2 }], 'routes[0].minChars', 'a whole number >= 0'],
    ['maxChars as a string', [{ tag: 't', maxChars: '3' }], 'routes[0].maxChars', 'a whole number >= 0'],
  ];
  it.each(cases)('%s', (_what, rules, field, expected) => {
    const e = refusal(() => rulesRouter(rules as RouteRule[]));
    expect(e).toMatchObject({ code: 'invalid_argument', field, expected });
  });

  it('a pattern is matched as a regular expression, not as text (an empty one matches anything)', () => {
    expect(route([{ tag: 't', pattern: '' }], user('anything'))).toBe('t');
    expect(route([{ tag: 't', pattern: 'a.c' }], user('abc'))).toBe('t');
  });
});

describe('decide: what the router says, made safe', () => {
  const messages = [user('hi')];
  it('no router: no route', () => expect(decide(undefined, messages)).toBeUndefined());
  it('a tag is the route; an empty string or a non-string is none', () => {
    expect(decide(() => 'code', messages)).toBe('code');
    expect(decide(() => '', messages)).toBeUndefined();
    expect(decide(() => 42 as unknown as string, messages)).toBeUndefined();
  });
  it('a router that throws routes nowhere', () => {
    expect(
      decide(() => {
        throw new Error('classifier down');
      }, messages),
    ).toBeUndefined();
  });
  it('an async router: its tag, or none when it rejects or gives an empty one', async () => {
    await expect(decide(async () => 'code', messages)).resolves.toBe('code');
    await expect(decide(async () => '', messages)).resolves.toBeUndefined();
    await expect(decide(() => Promise.reject(new Error('down')), messages)).resolves.toBeUndefined();
  });
  it('the router is given the messages', () => {
    let seen: readonly ChatMessage[] | undefined;
    decide((m) => ((seen = m), undefined), messages);
    expect(seen).toBe(messages);
  });
});
