import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { docFiles } from './support/docs.js';

const entries = ['src/index.ts', 'src/testing.ts', 'src/metrics.ts', 'src/tracing.ts', 'src/dashboard.ts', 'src/gateway.ts', 'src/ai-sdk.ts', 'src/langchain.ts'];
const program = ts.createProgram(entries, {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2023,
  strict: true,
  noEmit: true,
});
const checker = program.getTypeChecker();
const docs = docFiles().map((d) => readFileSync(d, 'utf8')).join('\n');

function publicNames(entry: string): { name: string; documented: boolean }[] {
  const sf = program.getSourceFile(entry)!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).map((e) => {
    const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const decl = target.declarations?.[0];
    const documented =
      target.getDocumentationComment(checker).length > 0 || (decl !== undefined && ts.getJSDocCommentsAndTags(decl).length > 0);
    return { name: e.name, documented };
  });
}

describe.each(entries)('public names of %s', (entry) => {
  const names = publicNames(entry);
  it('has public names', () => expect(names.length).toBeGreaterThan(0));
  it.each(names.map((n) => [n.name, n]))('%s has TSDoc and is in the README or a guide', (name, n) => {
    expect(n.documented, `${name} has no TSDoc`).toBe(true);
    expect(new RegExp(`\\b${name}\\b`).test(docs), `${name} is not in README.md nor docs/guides`).toBe(true);
  });
});

describe('the TypeDoc reference (npm run docs)', () => {
  it('builds from every entry point without a warning (an undocumented export, method or broken link fails it)', async () => {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<{ code: number; text: string }>((done) =>
      execFile(process.execPath, ['node_modules/typedoc/bin/typedoc', '--emit', 'none', '--logLevel', 'Warn'], { timeout: 60_000 }, (err, stdout, stderr) =>
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, text: `${stdout}${stderr}` }),
      ),
    );
    expect(out.text).not.toMatch(/warning|error/i);
    expect(out.code).toBe(0);
  }, 60_000);
});

describe('links in the README and the guides', () => {
  const slug = (heading: string): string =>
    heading
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replaceAll(' ', '-');
  const anchors = (path: string): Set<string> => new Set([...readFileSync(path, 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)));
  const links = docFiles().flatMap((doc) =>
    [...readFileSync(doc, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => [doc, m[1]!] as const).filter(([, href]) => !/^[a-z]+:/.test(href)),
  );

  it('has relative links to check', () => expect(links.length).toBeGreaterThan(20));
  it.each(links)('%s -> %s resolves (file and heading)', async (doc, href) => {
    const { dirname, join } = await import('node:path');
    const { existsSync } = await import('node:fs');
    const [file, anchor] = href.split('#') as [string, string | undefined];
    const target = file === '' ? doc : join(dirname(doc), file);
    expect(existsSync(target), `${target} does not exist`).toBe(true);
    if (anchor !== undefined) expect(anchors(target).has(anchor), `no heading #${anchor} in ${target}`).toBe(true);
  });
});
