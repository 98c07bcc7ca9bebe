import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `cortex-otp serve` of a test: the real CLI (through tsx) over a config written to a temp dir. */
export interface ServedCli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly config: string;
  /** The gateway's URL, once the CLI says it listens (rejects if it exits first). */
  readonly url: Promise<string>;
  /** Kills it (SIGKILL) and removes the temp dir. */
  dispose(): void;
}

/** Starts `cortex-otp serve --config <config> --port 0 --quiet` with `env` added to this process's. */
export function serveCli(config: object, env: Record<string, string> = {}): ServedCli {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-cli-'));
  const file = join(dir, 'cortex.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', file, '--port', '0', '--quiet'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /cortex gateway: (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  url.catch(() => undefined);
  return {
    child,
    config: file,
    url,
    dispose() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
