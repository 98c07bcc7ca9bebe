/** The hand-written docs whose code blocks and names the tests check: the README and the guides. */
import { readFileSync, readdirSync } from 'node:fs';

/** `README.md`, then every `docs/guides/*.md`, by name. */
export function docFiles(): string[] {
  return ['README.md', ...readdirSync('docs/guides').filter((f) => f.endsWith('.md')).sort().map((f) => `docs/guides/${f}`)];
}

/** The text of one doc, by its path from the repository's root. */
export function readDoc(path: string): string {
  return readFileSync(path, 'utf8');
}
