/** The oldest Node cortex-otp runs on (`engines` in package.json). @internal */
export const MIN_NODE = '22.12';

/**
 * One clear line when `version` (this Node's, by default) is older than {@link MIN_NODE}, else
 * undefined: said at the start of the CLI, the examples and the tests instead of a crash later.
 * @internal
 */
export function nodeTooOld(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [wantMajor, wantMinor] = MIN_NODE.split('.').map(Number) as [number, number];
  if (major > wantMajor || (major === wantMajor && minor >= wantMinor)) return undefined;
  return `cortex-otp needs Node >= ${MIN_NODE}, found v${version}`;
}
