export async function httpBench(): Promise<void> {}
