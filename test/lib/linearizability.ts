/**
 * A linearizability checker in the style of Wing & Gong with Lowe's memoization (as in
 * Porcupine): depth-first search over the order in which concurrent operations take
 * effect, caching (set of linearized operations, model state) pairs already explored.
 * Histories are split by key first (a KV store is linearizable iff each key is).
 *
 * Operations whose outcome is unknown (the client gave up) have `return: Infinity` and
 * `output: undefined`: they may take effect at any point after their call, or never
 * (for writes this is modelled by letting the search linearize them at the very end).
 */

export type KvInput =
  | { op: 'read'; key: string }
  | { op: 'write'; key: string; value: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

/** read → the value (null when unset); write → 'ok'; cas → whether it swapped. undefined = unknown. */
export type KvOutput = string | null | boolean | undefined;

export interface Operation {
  clientId: number;
  input: KvInput;
  output: KvOutput;
  /** Invocation time. */
  call: number;
  /** Completion time; Infinity when the outcome is unknown. */
  return: number;
}

export type CheckResult = 'ok' | 'illegal' | 'unknown';

type State = string | null;

/** The KV register model for one key: returns the next state, or undefined if `output` is impossible. */
export function kvStep(state: State, input: KvInput, output: KvOutput): State | undefined {
  switch (input.op) {
    case 'read':
      return output === undefined || output === state ? state : undefined;
    case 'write':
      return input.value;
    case 'cas': {
      const swaps = state === input.expected;
      if (output === undefined) return swaps ? input.value : state;
      if (output !== swaps) return undefined;
      return swaps ? input.value : state;
    }
  }
}

interface Node {
  op: Operation | undefined;
  id: number;
  isCall: boolean;
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
  }
  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

/** Checks one key's history. */
function checkPartition(ops: Operation[], deadline: number): CheckResult {
  // Unknown-outcome ops that never need to happen: let them end after everything else.
  const end = ops.reduce((m, o) => Math.max(m, Number.isFinite(o.return) ? o.return : o.call), 0) + 1;
  const events: { t: number; isCall: boolean; id: number }[] = [];
  ops.forEach((o, id) => {
    events.push({ t: o.call, isCall: true, id });
    events.push({ t: Number.isFinite(o.return) ? o.return : end, isCall: false, id });
  });
  // Calls before returns at equal times: touching operations count as concurrent.
  events.sort((a, b) => a.t - b.t || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));

  const head: Node = { op: undefined, id: -1, isCall: false, match: undefined, prev: undefined, next: undefined };
  let tail = head;
  const calls = new Map<number, Node>();
  for (const ev of events) {
    const n: Node = { op: ops[ev.id], id: ev.id, isCall: ev.isCall, match: undefined, prev: tail, next: undefined };
    tail.next = n;
    tail = n;
    if (ev.isCall) calls.set(ev.id, n);
    else {
      const c = calls.get(ev.id) as Node;
      c.match = n;
    }
  }

  const lift = (n: Node): void => {
    (n.prev as Node).next = n.next;
    if (n.next) n.next.prev = n.prev;
    const m = n.match as Node;
    (m.prev as Node).next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (n: Node): void => {
    const m = n.match as Node;
    (m.prev as Node).next = m;
    if (m.next) m.next.prev = m;
    (n.prev as Node).next = n;
    if (n.next) n.next.prev = n;
  };

  const linearized = new Bitset(ops.length);
  const cache = new Set<string>();
  const stack: { node: Node; state: State }[] = [];
  let state: State = null;
  let entry = head.next;
  let iter = 0;
  while (head.next) {
    if ((++iter & 0x3ff) === 0 && Date.now() > deadline) return 'unknown';
    const e = entry as Node;
    if (e.isCall) {
      const op = e.op as Operation;
      const next = kvStep(state, op.input, op.output);
      if (next !== undefined) {
        linearized.set(e.id);
        const key = `${linearized.key()}|${JSON.stringify(next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node: e, state });
          state = next;
          lift(e);
          entry = head.next;
          continue;
        }
        linearized.clear(e.id);
      }
      entry = e.next;
    } else {
      const top = stack.pop();
      if (!top) return 'illegal';
      state = top.state;
      linearized.clear(top.node.id);
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return 'ok';
}

/**
 * Checks a KV history for linearizability within `timeoutMs` (wall clock; this is test
 * code). Reads of unknown outcome carry no information and are ignored.
 */
export function checkKv(history: Operation[], timeoutMs = 5000): CheckResult {
  const deadline = Date.now() + timeoutMs;
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (op.input.op === 'read' && (op.output === undefined || !Number.isFinite(op.return))) continue;
    const list = byKey.get(op.input.key) ?? [];
    list.push(op);
    byKey.set(op.input.key, list);
  }
  let result: CheckResult = 'ok';
  for (const ops of byKey.values()) {
    const r = checkPartition(ops, deadline);
    if (r === 'illegal') return 'illegal';
    if (r === 'unknown') result = 'unknown';
  }
  return result;
}
