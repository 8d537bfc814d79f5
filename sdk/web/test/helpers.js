// Stand-ins for the browser: a manual clock with timers, localStorage,
// fetch against a scriptable fake Herald, and event targets for window,
// document and navigator.connection.

import { HeraldClient } from '../src/client.js';

export class MemoryStorage {
  constructor() {
    this.m = new Map();
  }
  getItem(k) {
    return this.m.has(k) ? this.m.get(k) : null;
  }
  setItem(k, v) {
    this.m.set(k, String(v));
  }
  removeItem(k) {
    this.m.delete(k);
  }
  clear() {
    this.m.clear();
  }
}

/** A clock whose timers run only when advanced. */
export class Clock {
  constructor(start = Date.parse('2026-11-29T12:00:00Z')) {
    this.t = start;
    this.timers = new Map();
    this.seq = 0;
  }
  now = () => this.t;
  setTimeout = (fn, ms) => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms || 0), fn });
    return id;
  };
  clearTimeout = (id) => {
    this.timers.delete(id);
  };
  /** The delays of the pending timers, from now. */
  pending() {
    return Array.from(this.timers.values(), (x) => x.at - this.t).sort((a, b) => a - b);
  }
  /** Moves time forward, running each timer due on the way (and the promises it starts). */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, x] of this.timers) if (x.at <= end && (!next || x.at < next[1].at)) next = [id, x];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise chains (fetch answers, flush loops) run. */
export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A fake Herald behind fetch: records every request; `mode` is "up",
 * "offline" (fetch rejects) or a status code to answer with. It dedups
 * items by id as the server does, so tests can count what was recorded.
 */
export class FakeHerald {
  constructor() {
    this.requests = [];
    this.recorded = new Map(); // item id -> item
    this.mode = 'up';
    this.inAppMessages = [];
    this.minInterval = 30;
    this.cards = { cards: [], removed: [], sync_token: 't1', full_sync: true };
    this.fetch = this.fetch.bind(this);
  }
  async fetch(url, init) {
    const body = JSON.parse(init.body);
    const req = { url, headers: init.headers, body, keepalive: !!init.keepalive };
    this.requests.push(req);
    if (this.mode === 'offline') throw new TypeError('Failed to fetch');
    if (typeof this.mode === 'number') return response(this.mode, { message: this.message || 'scripted' }, this.headers);
    if (url.endsWith('/sdk/v1/content_cards/sync')) return response(200, this.cards);
    const fresh = [];
    for (const it of body.items) {
      if (!this.recorded.has(it.id)) {
        this.recorded.set(it.id, { ...it, user_id: body.user_id });
        fresh.push(it);
      }
    }
    const out = {
      message: 'success', items_processed: fresh.length, items_replayed: body.items.length - fresh.length,
      config: { min_in_app_interval_s: this.minInterval, max_items: 100, max_item_age_s: 2592000 }, in_app_messages: [], errors: [],
    };
    if (body.items.some((i) => i.type === 'session_start')) out.in_app_messages = this.inAppMessages;
    return response(200, out);
  }
  /** Data requests (not card syncs). */
  dataRequests() {
    return this.requests.filter((r) => r.url.endsWith('/sdk/v1/data'));
  }
  itemsOfType(type) {
    return Array.from(this.recorded.values()).filter((i) => i.type === type);
  }
  /** How many times each item id was sent, over every request. */
  sendCounts() {
    const n = new Map();
    for (const r of this.dataRequests()) for (const it of r.body.items) n.set(it.id, (n.get(it.id) || 0) + 1);
    return n;
  }
}

export function response(status, json, headers = {}) {
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (k) => headers[k] ?? headers[k.toLowerCase()] ?? null },
    json: async () => json,
  };
}

/** A browser-like environment over a clock, a storage and a fake Herald. */
export function makeEnv({ clock = new Clock(), storage = new MemoryStorage(), herald = new FakeHerald(), effectiveType = '4g', document = null } = {}) {
  const window = new EventTarget();
  const doc = document || Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const connection = Object.assign(new EventTarget(), { effectiveType });
  let n = 0;
  return {
    clock,
    storage,
    herald,
    env: {
      fetch: herald.fetch,
      storage,
      now: clock.now,
      setTimeout: clock.setTimeout,
      clearTimeout: clock.clearTimeout,
      window,
      document: doc,
      navigator: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36', language: 'en-US', connection },
      crypto: { randomUUID: () => `id-${String(++n).padStart(4, '0')}-${Math.random().toString(36).slice(2, 8)}` },
      console: { log() {}, warn() {} },
    },
  };
}

/** A started client and its surroundings; the session-start batch has been answered. */
export async function started(opts = {}) {
  const e = makeEnv(opts);
  const c = new HeraldClient(e.env);
  c.init('hsk_test', { baseUrl: 'https://herald.test/', ...(opts.init || {}) });
  await settle();
  return { ...e, c };
}
