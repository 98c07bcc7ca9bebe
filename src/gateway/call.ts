import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { KeyEntry, KeyLimits } from './keys.js';

/** What a protocol handler gets. @internal */
export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly dispatcher: Dispatcher;
  /** The request body, parsed (only for POST). */
  readonly body: unknown;
  /** Aborted when the client goes away (the upstream request is cancelled with it), or with {@link CLOSING}. */
  readonly signal: AbortSignal;
  /** The client's key (its id, routes, limits, cache scope); undefined without keys. */
  readonly key: KeyEntry | undefined;
  /** Where keys' limits are held. */
  readonly limits: KeyLimits;
}

/** The abort reason of a call cut because the gateway is closing and its drain time ran out. @internal */
export const CLOSING = Object.freeze({ name: 'GatewayClosing', message: 'the gateway is shutting down' });
