/**
 * One in-memory table: rows by primary key plus secondary indexes that are kept in step on
 * every put/delete. Iteration order of the Maps is insertion order; readers that expose an
 * order sort explicitly, so nothing depends on it.
 */
export class Table<Row> {
  private readonly rows = new Map<string, Row>();
  private readonly secondary = new Map<string, { key: (r: Row) => string; map: Map<string, Set<string>> }>();

  /**
   * @param pk primary key of a row; unique in the table.
   * @param indexes secondary indexes: name → (row → index key). Several rows may share an index key.
   */
  constructor(readonly name: string, private readonly pk: (r: Row) => string, indexes: Record<string, (r: Row) => string> = {}) {
    for (const [n, key] of Object.entries(indexes)) this.secondary.set(n, { key, map: new Map() });
  }

  get size(): number {
    return this.rows.size;
  }

  get(key: string): Row | undefined {
    return this.rows.get(key);
  }

  /** Inserts or replaces the row with the same primary key; returns the replaced row. */
  put(row: Row): Row | undefined {
    const key = this.pk(row);
    const old = this.rows.get(key);
    if (old !== undefined) this.unindex(key, old);
    this.rows.set(key, row);
    for (const ix of this.secondary.values()) {
      const k = ix.key(row);
      let set = ix.map.get(k);
      if (set === undefined) ix.map.set(k, (set = new Set()));
      set.add(key);
    }
    return old;
  }

  /** Removes the row with primary key `key`; returns it. */
  delete(key: string): Row | undefined {
    const old = this.rows.get(key);
    if (old === undefined) return undefined;
    this.unindex(key, old);
    this.rows.delete(key);
    return old;
  }

  /** Rows whose secondary index `index` has key `key`. */
  by(index: string, key: string): Row[] {
    const set = this.ix(index).map.get(key);
    if (set === undefined) return [];
    const out: Row[] = [];
    for (const pk of set) out.push(this.rows.get(pk)!);
    return out;
  }

  /** Number of rows under `key` in secondary index `index`. */
  count(index: string, key: string): number {
    return this.ix(index).map.get(key)?.size ?? 0;
  }

  /** All keys present in secondary index `index`. */
  indexKeys(index: string): IterableIterator<string> {
    return this.ix(index).map.keys();
  }

  values(): IterableIterator<Row> {
    return this.rows.values();
  }

  /** All rows sorted by primary key (a deterministic order for snapshots). */
  sorted(): Row[] {
    return [...this.rows.keys()].sort().map((k) => this.rows.get(k)!);
  }

  clear(): void {
    this.rows.clear();
    for (const ix of this.secondary.values()) ix.map.clear();
  }

  private ix(index: string) {
    const ix = this.secondary.get(index);
    if (ix === undefined) throw new Error(`catalog/state: table ${this.name} has no index ${index}`);
    return ix;
  }

  private unindex(key: string, row: Row): void {
    for (const ix of this.secondary.values()) {
      const k = ix.key(row);
      const set = ix.map.get(k);
      if (set === undefined) continue;
      set.delete(key);
      if (set.size === 0) ix.map.delete(k);
    }
  }
}
