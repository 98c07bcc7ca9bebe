/**
 * Every TypeScript block of the README is type-checked as its own file (a block declares what
 * it assumes), against the sources, as a strict consumer would see `cortex-otp`. Blocks that
 * need nothing outside this machine also run. A block preceded by
 * `<!-- typecheck only: reason -->` is only type-checked.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from './support/run-script.js';

interface Block {
  readonly line: number;
  readonly code: string;
  readonly run: boolean;
}

function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /(<!-- typecheck only: [^>]*-->\n)?```ts\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(re)) {
    blocks.push({ line: markdown.slice(0, m.index).split('\n').length, code: m[2]!, run: m[1] === undefined });
  }
  return blocks;
}

const root = resolve('.');
const dir = join(root, 'test', '.readme-blocks');
const blocks = tsBlocks(readFileSync('README.md', 'utf8'));
const files = blocks.map((b) => join(dir, `block-line-${b.line}.ts`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README code blocks', () => {
  it('has TypeScript blocks', () => expect(blocks.length).toBeGreaterThanOrEqual(5));

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
      .map((d) => `${d.file ? `README block at line ${blocks[files.indexOf(resolve(d.file.fileName))]!.line}` : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  }, 60_000);

  it.each(blocks.filter((b) => b.run).map((b) => [b.line, b] as const))('the block at line %i runs', async (_line, b) => {
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
