/**
 * Every TypeScript block of the README and of the guides in docs/guides is type-checked as its own file (a block declares what
 * it assumes), against the sources, as a strict consumer would see `cortex-otp`. Blocks that
 * need nothing outside this machine also run. A block preceded by
 * `<!-- typecheck only: reason -->` is only type-checked.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { docFiles, readDoc } from './support/docs.js';
import { runScript } from './support/run-script.js';

interface Block {
  readonly doc: string;
  readonly line: number;
  readonly code: string;
  readonly run: boolean;
}

function tsBlocks(doc: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /(<!-- typecheck only: [^>]*-->\n)?```ts\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(re)) {
    blocks.push({ doc, line: markdown.slice(0, m.index).split('\n').length, code: m[2]!, run: m[1] === undefined });
  }
  return blocks;
}

const root = resolve('.');
const dir = join(root, 'test', '.readme-blocks');
const blocks = docFiles().flatMap((doc) => tsBlocks(doc, readDoc(doc)));
const files = blocks.map((b) => join(dir, `${b.doc.replace(/\W+/g, '-')}-line-${b.line}.ts`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README and guide code blocks', () => {
  it('has TypeScript blocks in the README and in every guide', () => {
    expect(blocks.filter((b) => b.doc === 'README.md').length).toBeGreaterThanOrEqual(2);
    for (const doc of docFiles()) expect(blocks.some((b) => b.doc === doc), `${doc} has no TypeScript block`).toBe(true);
  });

  it('each compiles on its own, strictly', () => {
    mkdirSync(dir, { recursive: true });
    // `export {}` makes each block a module of its own (top-level await, no shared names).
    blocks.forEach((b, i) => writeFileSync(files[i]!, `${b.code}\nexport {};\n`));
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      baseUrl: root,
      paths: { 'cortex-otp': ['src/index.ts'], 'cortex-otp/testing': ['src/testing.ts'], 'cortex-otp/metrics': ['src/metrics.ts'], 'cortex-otp/tracing': ['src/tracing.ts'], 'cortex-otp/dashboard': ['src/dashboard.ts'], 'cortex-otp/gateway': ['src/gateway.ts'], 'cortex-otp/ai-sdk': ['src/ai-sdk.ts'], 'cortex-otp/langchain': ['src/langchain.ts'] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || files.includes(resolve(d.file.fileName)))
      .map((d) => `${d.file ? `${blocks[files.indexOf(resolve(d.file.fileName))]!.doc} block at line ${blocks[files.indexOf(resolve(d.file.fileName))]!.line}` : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  }, 60_000);

  it.each(blocks.filter((b) => b.run).map((b) => [b.doc, b.line, b] as const))('%s: the block at line %i runs', async (_doc, _line, b) => {
    const source = b.code
      .replaceAll("'cortex-otp/testing'", "'./src/testing.ts'")
      .replaceAll("'cortex-otp/metrics'", "'./src/metrics.ts'")
      .replaceAll("'cortex-otp/tracing'", "'./src/tracing.ts'")
      .replaceAll("'cortex-otp/dashboard'", "'./src/dashboard.ts'")
      .replaceAll("'cortex-otp/gateway'", "'./src/gateway.ts'")
      .replaceAll("'cortex-otp/ai-sdk'", "'./src/ai-sdk.ts'")
      .replaceAll("'cortex-otp/langchain'", "'./src/langchain.ts'")
      .replaceAll("'cortex-otp'", "'./src/index.ts'");
    const out = await runScript(source);
    expect(out.code).toBe(0);
  }, 30_000);
});
