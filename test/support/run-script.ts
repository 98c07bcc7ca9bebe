import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Runs a TypeScript ES module (through tsx) in its own Node process; `'./src/...'` imports
 * point at this repository's sources. Resolves with its exit code and stdout.
 */
export async function runScript(source: string): Promise<{ code: number | null; stdout: string }> {
  // Inside the repository, so the script finds its packages (xstate...) in node_modules.
  mkdirSync(resolve('test/.scripts'), { recursive: true });
  const dir = mkdtempSync(join(resolve('test/.scripts'), 'script-'));
  const file = join(dir, 'script.mts');
  writeFileSync(file, source.replaceAll("'./src/", `'${resolve('src')}/`));
  try {
    return await new Promise((done, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => done({ code, stdout }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
