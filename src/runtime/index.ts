export { createSystem, ActorSystem, type SystemOptions } from './system.js';
export { call, cast, send, stop, kill, link, unlink, monitor, demonitor, whenExited, DEFAULT_CALL_TIMEOUT, type StopOptions } from './api.js';
export { realClock, SimulatedClock, type Clock } from './clock.js';
export { isNormalExit, formatReason, type ExitReason } from './exit-reason.js';
export type { Disposable } from './inspection.js';
export {
  reply,
  noreply,
  stopping,
  type Msg,
  type Protocol,
  type CallOf,
  type ReplyOf,
  type AnyReplyOf,
  type CastOf,
  type InfoOf,
  type ActorRef,
  type ExitMessage,
  type DownMessage,
  type MonitorRef,
  type SystemMessage,
  type From,
  type TimerRef,
  type SendAfterOptions,
  type ActorContext,
  type ReplyDirective,
  type NoReplyDirective,
  type StopDirective,
  type CallResult,
  type NoticeResult,
  type Behaviour,
  type SpawnOptions,
  type CallOptions,
} from './types.js';
