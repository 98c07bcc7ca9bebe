/**
 * The gateway reads a request's path without building a `URL` when the path is as plain as the
 * APIs' own; any other goes through `URL`. Either way the path is the one `URL` gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathOf } from '../../src/gateway/gateway.js';

const viaUrl = (url: string): string | undefined => URL.parse(url, 'http://gateway')?.pathname.replace(/\/+$/, '');

describe("the gateway's request path", () => {
  it('is the path before any query or fragment, without trailing slashes', () => {
    expect(pathOf('/v1/chat/completions')).toBe('/v1/chat/completions');
    expect(pathOf('/v1/chat/completions/')).toBe('/v1/chat/completions');
    expect(pathOf('/v1/usage?key=team-a&since=2026-12-01')).toBe('/v1/usage');
    expect(pathOf('/api/chat#x')).toBe('/api/chat');
    expect(pathOf('/')).toBe('');
  });

  it('resolves what only URL reads right: dot segments, backslashes, escapes', () => {
    expect(pathOf('/api/../v1/chat/completions')).toBe('/v1/chat/completions');
    expect(pathOf('/v1\\chat\\completions')).toBe('/v1/chat/completions');
    expect(pathOf('/v1/chat%2Fcompletions')).toBe('/v1/chat%2Fcompletions');
    expect(pathOf('//v1/models')).toBe('/models'); // a host, for URL
  });

  it('is undefined for a target URL refuses (the gateway answers 400; it used to throw in the request handler)', () => {
    expect(pathOf('//\\')).toBeUndefined();
    expect(pathOf('/\\')).toBeUndefined();
  });

  it('is what URL says for any path a client may send', () => {
    const piece = fc.constantFrom('v1', 'api', 'chat', 'completions', '.', '..', '', '%2e', '%2F', '\\', 'a b', 'é', '_-', '?q=1', '#f', ';x');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
        const url = `/${pieces.join('/')}`;
        expect(pathOf(url)).toBe(viaUrl(url));
      }),
      { numRuns: 500 },
    );
  });
});
