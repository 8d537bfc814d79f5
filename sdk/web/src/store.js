// Persistent state in localStorage, namespaced per SDK key, with an
// in-memory fallback when storage is missing, full or refused (private
// browsing, a sandboxed frame): the SDK keeps working for the page's life.

export class Store {
  /**
   * @param {Storage|undefined|null} storage localStorage or a stand-in
   * @param {string} prefix key prefix, e.g. "herald.<apiKey>."
   */
  constructor(storage, prefix) {
    this.storage = storage || null;
    this.prefix = prefix;
    this.memory = new Map();
  }

  get(name) {
    const key = this.prefix + name;
    if (this.storage) {
      try {
        const raw = this.storage.getItem(key);
        if (raw !== null && raw !== undefined) return JSON.parse(raw);
        return this.memory.has(key) ? this.memory.get(key) : null;
      } catch {
        // unreadable or corrupt: fall through to memory
      }
    }
    return this.memory.has(key) ? this.memory.get(key) : null;
  }

  set(name, value) {
    const key = this.prefix + name;
    if (this.storage) {
      try {
        this.storage.setItem(key, JSON.stringify(value));
        this.memory.delete(key);
        return true;
      } catch {
        // quota exceeded or refused: keep it in memory
      }
    }
    this.memory.set(key, value);
    return false;
  }

  remove(name) {
    const key = this.prefix + name;
    this.memory.delete(key);
    if (this.storage) {
      try {
        this.storage.removeItem(key);
      } catch {
        // nothing to do
      }
    }
  }
}

/**
 * The offline queue: items waiting to be sent to /sdk/v1/data, oldest first,
 * kept in storage so they survive reloads. An item leaves the queue only when
 * the server acknowledged the batch that carried it; every item keeps its
 * client-generated id, so a batch sent twice (a lost answer, a page closed
 * mid-request, two tabs) is recorded once by the server.
 */
export class Queue {
  /**
   * @param {Store} store
   * @param {{max?: number, onDrop?: (n: number) => void}} [opts]
   */
  constructor(store, opts = {}) {
    this.store = store;
    this.max = opts.max || 1000;
    this.onDrop = opts.onDrop || (() => {});
  }

  /** Every queued item, oldest first. Read from storage each time: another tab may have changed it. */
  items() {
    const v = this.store.get('queue');
    return Array.isArray(v) ? v.filter((i) => i && typeof i.id === 'string') : [];
  }

  get length() {
    return this.items().length;
  }

  /** Appends an item; past the cap the oldest items are dropped. */
  add(item) {
    const items = this.items();
    items.push(item);
    const over = items.length - this.max;
    if (over > 0) {
      items.splice(0, over);
      this.onDrop(over);
    }
    this.store.set('queue', items);
  }

  /**
   * The next batch: up to n of the oldest items that belong to the same user
   * as the oldest one (a request speaks for one user).
   */
  next(n) {
    const items = this.items();
    if (items.length === 0) return [];
    const user = items[0].user_id ?? null;
    const out = [];
    for (const it of items) {
      if ((it.user_id ?? null) !== user) continue;
      out.push(it);
      if (out.length >= n) break;
    }
    return out;
  }

  /** Drops the items stamped before a time (ms); returns how many. */
  dropOlderThan(ms) {
    const items = this.items();
    const kept = items.filter((i) => !(Date.parse(i.item && i.item.time) < ms));
    if (kept.length !== items.length) this.store.set('queue', kept);
    return items.length - kept.length;
  }

  /** Removes the acknowledged items by id. */
  ack(ids) {
    const done = new Set(ids);
    this.store.set('queue', this.items().filter((i) => !done.has(i.id)));
  }
}
