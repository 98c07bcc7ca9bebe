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

/** Runs `body` (as in {@link runScript}) in a process where `pkg` cannot be resolved, as in an app that never installed it. */
export function runWithout(pkg: string, body: string): Promise<{ code: number | null; stdout: string }> {
  return runScript(`
    import { registerHooks } from 'node:module';
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier === ${JSON.stringify(pkg)}) throw Object.assign(new Error("Cannot find module '${pkg}'"), { code: 'MODULE_NOT_FOUND' });
        return next(specifier, context);
      },
    });
    ${body}
  `);
}
