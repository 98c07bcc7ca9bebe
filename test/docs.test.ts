import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const entries = ['src/index.ts', 'src/testing.ts', 'src/metrics.ts', 'src/tracing.ts', 'src/dashboard.ts', 'src/gateway.ts', 'src/ai-sdk.ts', 'src/langchain.ts'];
const program = ts.createProgram(entries, {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2023,
  strict: true,
  noEmit: true,
});
const checker = program.getTypeChecker();
const readme = readFileSync('README.md', 'utf8');

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
  it.each(names.map((n) => [n.name, n]))('%s has TSDoc and is in the README', (name, n) => {
    expect(n.documented, `${name} has no TSDoc`).toBe(true);
    expect(new RegExp(`\\b${name}\\b`).test(readme), `${name} is not in README.md`).toBe(true);
  });
});
