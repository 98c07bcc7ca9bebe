/**
 * cortex-otp: Erlang/OTP-style supervised actors for Node, and fault-tolerant pools of LLM
 * backends built on them.
 * @packageDocumentation
 */
export * from './runtime/index.js';
export * from './supervisor/index.js';
export * from './behaviour/index.js';
export * from './registry/index.js';
export * from './pool/index.js';
export * from './store/index.js';
export * from './dispatcher/index.js';
export * from './adapters/index.js';
export * from './errors/index.js';
export type * from './events.js';
export { logEvents, formatEvent, eventLevel, eventFields, type LogEventsOptions, type StructuredLogger, type LogLevel } from './logger.js';
export * from './config/index.js';
