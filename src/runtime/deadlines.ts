import { keepAlive, type Clock } from './clock.js';

/** A call waiting for its deadline: an intrusive node so removal is O(1). @internal */
export interface DeadlineNode {
  deadline: number;
  prev: DeadlineNode | null;
  next: DeadlineNode | null;
  list: DeadlineList | null;
  expire(): void;
}

/** Nodes that share a timeout length, so deadlines are appended in order. @internal */
export class DeadlineList {
  head: DeadlineNode | null = null;
  tail: DeadlineNode | null = null;
}

/**
 * Call timeouts without one timer per call: calls with the same timeout length sit in one
 * FIFO list (their deadlines come in order), and one clock timer is armed for the earliest
 * head. Adding and removing are O(1).
 * @internal
 */
export class Deadlines {
  readonly #clock: Clock;
  readonly #lists = new Map<number, DeadlineList>();
  #count = 0;
  // Most calls use one timeout length: skip the map lookup for it.
  #lastMs = NaN;
  #lastList: DeadlineList | undefined = undefined;
  #timer: unknown = undefined;
  #timerAt = Infinity;
  /** Whether the armed timer keeps the process alive: while a caller waits, it must. */
  #held = false;
  readonly #fire = (): void => this.#onTimer();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  add(node: DeadlineNode, ms: number): void {
    let list = ms === this.#lastMs ? this.#lastList : this.#lists.get(ms);
    if (list === undefined) {
      list = new DeadlineList();
      this.#lists.set(ms, list);
    }
    this.#lastMs = ms;
    this.#lastList = list;
    node.deadline = this.#clock.now() + ms;
    node.list = list;
    node.prev = list.tail;
    node.next = null;
    if (list.tail === null) list.head = node;
    else list.tail.next = node;
    list.tail = node;
    this.#count++;
    if (node.deadline < this.#timerAt) this.#arm(node.deadline);
    else if (!this.#held) this.#hold(true);
  }

  remove(node: DeadlineNode): void {
    const list = node.list;
    if (list === null) return;
    if (node.prev === null) list.head = node.next;
    else node.prev.next = node.next;
    if (node.next === null) list.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = node.list = null;
    // The timer is left armed when nothing waits (it fires once, finds nothing, and is not
    // re-armed): clearing and re-arming it on every call would cost more than the call itself.
    // While a caller waits it keeps the process alive (the caller must get its answer or its
    // timeout); once nobody waits it no longer does.
    if (--this.#count === 0 && this.#held) this.#hold(false);
  }

  /** Cancels the timer (used on system shutdown and when nothing waits). */
  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#held = false;
  }

  #hold(on: boolean): void {
    this.#held = on;
    if (this.#timer !== undefined) keepAlive(this.#timer, on);
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    // Armed only for a call that waits (from add, or for the next deadline left after a
    // firing): a new timer holds the process, as it should.
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(at - this.#clock.now())));
    this.#held = true;
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#held = false;
    const now = this.#clock.now();
    const expired: DeadlineNode[] = [];
    let next = Infinity;
    for (const [ms, list] of this.#lists) {
      let n = list.head;
      while (n !== null && n.deadline <= now) {
        const after: DeadlineNode | null = n.next;
        this.remove(n);
        expired.push(n);
        n = after;
      }
      if (list.head === null) {
        this.#lists.delete(ms);
        if (this.#lastList === list) this.#lastMs = NaN;
      }
      else if (list.head.deadline < next) next = list.head.deadline;
    }
    if (next !== Infinity) this.#arm(next);
    for (const n of expired) n.expire();
  }
}
