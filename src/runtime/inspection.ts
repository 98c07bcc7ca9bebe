import { EventEmitter } from 'eventemitter3';

/** Something to stop listening with. */
export interface Disposable {
  /** Stops the subscription; calling it twice is harmless. */
  dispose(): void;
}

/**
 * One typed event stream. Emitting costs one boolean check when nobody listens, and the
 * event object is only built (by `make`) when somebody does.
 * @internal
 */
export class EventStream<E> {
  readonly #emitter = new EventEmitter<{ event: [E] }>();
  #listening = false;

  /** True when at least one listener is subscribed. */
  get listening(): boolean {
    return this.#listening;
  }

  subscribe(listener: (event: E) => void): Disposable {
    this.#emitter.on('event', listener);
    this.#listening = true;
    let done = false;
    return {
      dispose: () => {
        if (done) return;
        done = true;
        this.#emitter.off('event', listener);
        this.#listening = this.#emitter.listenerCount('event') > 0;
      },
    };
  }

  /** Emits the event built by `make`, only if somebody listens. A throwing listener is isolated. */
  emit(make: () => E): void {
    if (!this.#listening) return;
    const event = make();
    for (const l of this.#emitter.listeners('event')) {
      try {
        l(event);
      } catch {
        // A broken listener must not break the actor that emitted the event.
      }
    }
  }
}
