import type { ToolCall, ToolCallDelta } from './types.js';

/**
 * The tool calls a stream's deltas add up to, in index order: each call's `id` and `name` from
 * its first pieces, its `arguments` text appended piece by piece. A call whose id or name never
 * came is left out (it was not complete).
 * @example
 * const deltas = [];
 * for await (const c of cortex.dispatchStream(messages, { tools })) deltas.push(...(c.toolCalls ?? []));
 * const calls = collectToolCalls(deltas); // [{ id, name, arguments }]
 */
export function collectToolCalls(deltas: Iterable<ToolCallDelta>): ToolCall[] {
  const byIndex = new Map<number, { id?: string; name?: string; arguments: string }>();
  for (const d of deltas) {
    let c = byIndex.get(d.index);
    if (c === undefined) byIndex.set(d.index, (c = { arguments: '' }));
    if (d.id !== undefined && d.id !== '') c.id ??= d.id;
    if (d.name !== undefined && d.name !== '') c.name ??= d.name;
    if (d.arguments !== undefined) c.arguments += d.arguments;
  }
  const out: ToolCall[] = [];
  for (const i of [...byIndex.keys()].sort((a, b) => a - b)) {
    const c = byIndex.get(i)!;
    if (c.id !== undefined && c.name !== undefined) out.push({ id: c.id, name: c.name, arguments: c.arguments });
  }
  return out;
}

/**
 * A tool call's arguments (JSON text, as OpenAI carries them) as the JSON object Ollama and
 * Anthropic want; empty text is `{}`. Undefined when the text is not a JSON object.
 * @internal
 */
export function argumentsObject(text: string): object | undefined {
  try {
    const v = JSON.parse(text === '' ? '{}' : text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
