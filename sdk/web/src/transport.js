// Sending the offline queue to /sdk/v1/data: batches of one user's oldest
// items, removed from the queue only once the server answered 2xx for them
// (items the server refused as invalid are removed too: sending them again
// would be refused again). Failures back off; Retry-After is honoured.

import { API_KEY_HEADER, DATA_PATH, MAX_ITEMS, SDK_AUTH_HEADER, dataRequest, readDataResponse } from './protocol.js';

/** Longest wait between two attempts after failures. */
export const MAX_BACKOFF_MS = 5 * 60_000;

/** A keepalive request's body must stay under the browsers' 64 KiB in-flight budget. */
export const KEEPALIVE_MAX_BYTES = 60_000;

/** The outcome of one attempt. */
export const Sent = Object.freeze({ OK: 'ok', RETRY: 'retry', AUTH: 'auth', DROPPED: 'dropped', EMPTY: 'empty' });

export class Transport {
  /**
   * @param {object} o
   * @param {Function} o.fetch
   * @param {import('./store.js').Queue} o.queue
   * @param {string} o.baseUrl
   * @param {string} o.apiKey
   * @param {() => object} o.device the device object (device_id included)
   * @param {(userId: string|null) => string|null} o.token the SDK auth token for a user
   * @param {(res: object, batch: object[]) => void} o.onResponse
   * @param {(e: {userId: string|null, status: number, message: string}) => void} o.onAuthError
   * @param {(msg: string, ...args: any[]) => void} o.log
   * @param {() => number} o.now the clock (ms)
   * @param {() => number} o.maxItemAgeMs items older than this are dropped unsent (config.max_item_age_s)
   */
  constructor(o) {
    Object.assign(this, o);
    this.maxItems = MAX_ITEMS;
    this.retryAfterMs = 0;
  }

  /** Sends the next batch; resolves to a Sent value. */
  async sendNext({ keepalive = false } = {}) {
    const stale = this.queue.dropOlderThan(this.now() - this.maxItemAgeMs());
    if (stale > 0) this.log(`dropped ${stale} items older than Herald accepts`);
    let batch = this.queue.next(this.maxItems);
    if (batch.length === 0) return Sent.EMPTY;
    const userId = batch[0].user_id ?? null;
    let body = JSON.stringify(dataRequest({ device: this.device(), userId, items: batch.map((e) => e.item) }));
    if (keepalive) {
      while (body.length > KEEPALIVE_MAX_BYTES && batch.length > 1) {
        batch = batch.slice(0, Math.ceil(batch.length / 2));
        body = JSON.stringify(dataRequest({ device: this.device(), userId, items: batch.map((e) => e.item) }));
      }
    }
    const headers = { 'Content-Type': 'application/json', [API_KEY_HEADER]: this.apiKey };
    const token = userId ? this.token(userId) : null;
    if (token) headers[SDK_AUTH_HEADER] = token;
    let res;
    try {
      res = await this.fetch(this.baseUrl + DATA_PATH, { method: 'POST', headers, body, keepalive, credentials: 'omit', mode: 'cors' });
    } catch (err) {
      this.log('send failed, kept for later', err && err.message);
      return Sent.RETRY;
    }
    const json = await readJSON(res);
    if (res.ok) {
      const r = readDataResponse(json);
      // refused items are answered with their ids; they are not sent again
      for (const e of r.errors) this.log('item refused by Herald', e && e.id, e && e.type);
      this.queue.ack(batch.map((e) => e.id));
      this.maxItems = Math.min(MAX_ITEMS, r.maxItems || MAX_ITEMS);
      this.onResponse(r, batch);
      return Sent.OK;
    }
    const message = (json && json.message) || `HTTP ${res.status}`;
    if (res.status === 401 && userId && isSdkAuthRefusal(message)) {
      // the user's token is missing, expired or another user's: the items
      // wait for a new one (setSdkAuthToken)
      this.onAuthError({ userId, status: res.status, message });
      return Sent.AUTH;
    }
    if (res.status === 413 && batch.length > 1) {
      this.maxItems = Math.max(1, Math.floor(batch.length / 2));
      return Sent.OK; // send again, smaller
    }
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      this.retryAfterMs = retryAfter(res);
      this.log('Herald answered', res.status, message);
      return Sent.RETRY;
    }
    // 400 (a bad envelope), 401 (an unknown SDK key), 413 of a single item:
    // sending the batch again cannot help (docs/sdk-protocol.md).
    this.log('batch refused by Herald and dropped', res.status, message);
    this.queue.ack(batch.map((e) => e.id));
    return Sent.DROPPED;
  }
}

/** Whether a 401's message is SDK authentication refusing the user's token (docs/sdk-auth.md). */
export function isSdkAuthRefusal(message) {
  return /^X-Herald-Sdk-Auth:|missing SDK authentication token|token is for another user/i.test(message);
}

async function readJSON(res) {
  try {
    return await res.json();
  } catch {
    return null;
  }
}

function retryAfter(res) {
  const v = res.headers && typeof res.headers.get === 'function' ? res.headers.get('Retry-After') : null;
  if (!v) return 0;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : 0;
}
