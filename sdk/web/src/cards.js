// The Content Cards feed: synced from /sdk/v1/content_cards/sync (whole, or
// the changes since the last sync token), cached in storage per user, and
// handed to subscribers whenever it changes.

import { API_KEY_HEADER, CARDS_SYNC_PATH, SDK_AUTH_HEADER, cardsSyncRequest, readCardsResponse } from './protocol.js';

/** A feed older than this is synced again by getContentCards(). */
export const CARDS_REFRESH_MS = 60_000;

/** Applies a sync answer to a feed: the whole feed, or the changes (upserts and removals). */
export function mergeCards(current, res) {
  let cards;
  if (res.full) {
    cards = res.cards.slice();
  } else {
    const byId = new Map(current.map((c) => [c.id, c]));
    for (const c of res.cards) byId.set(c.id, c);
    for (const id of res.removed) byId.delete(id);
    cards = Array.from(byId.values());
  }
  return sortFeed(cards.filter((c) => c && typeof c.id === 'string' && !c.dismissed));
}

/** Feed order: pinned first, then newest first. */
export function sortFeed(cards) {
  const t = (c) => Date.parse(c.created_at || '') || 0;
  return cards.slice().sort((a, b) => (Number(!!b.pinned) - Number(!!a.pinned)) || (t(b) - t(a)));
}

/** Whether a card has expired at nowMs. */
export function expired(card, nowMs) {
  const at = Date.parse(card.expires_at || card.expire_at || '');
  return Number.isFinite(at) && at <= nowMs;
}

export class ContentCards {
  /**
   * @param {object} o
   * @param {import('./store.js').Store} o.store
   * @param {Function} o.fetch
   * @param {() => number} o.now
   * @param {string} o.baseUrl
   * @param {string} o.apiKey
   * @param {() => string} o.deviceId
   * @param {() => string|null} o.userId
   * @param {(userId: string) => string|null} o.token
   * @param {(e: {userId: string, status: number, message: string}) => void} [o.onAuthError]
   * @param {Function} o.log
   */
  constructor(o) {
    Object.assign(this, o);
    this.subscribers = new Set();
    this.inflight = null;
    this.lastSyncAt = 0;
    this.retryAt = 0;
  }

  /** The cached feed of the current user, expired cards left out. */
  cached() {
    const f = this.store.get('cards');
    if (!f || f.user_id !== (this.userId() ?? null) || !Array.isArray(f.cards)) return [];
    const now = this.now();
    return f.cards.filter((c) => !expired(c, now));
  }

  save(cards, syncToken) {
    const prev = this.store.get('cards');
    this.store.set('cards', {
      user_id: this.userId() ?? null,
      sync_token: syncToken ?? (prev && prev.user_id === (this.userId() ?? null) ? prev.sync_token : null),
      cards,
    });
  }

  /** Forgets the feed (another user). */
  reset() {
    this.store.remove('cards');
    this.lastSyncAt = 0;
    this.notify();
  }

  subscribe(cb) {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  notify() {
    const cards = this.cached();
    for (const cb of this.subscribers) {
      try {
        cb(cards);
      } catch (err) {
        this.log('content cards subscriber failed', err);
      }
    }
  }

  /** The feed, synced first when it is older than CARDS_REFRESH_MS (or never was). */
  async get() {
    if (this.now() - this.lastSyncAt >= CARDS_REFRESH_MS) await this.refresh();
    return this.cached();
  }

  /** Syncs the feed now (at most one sync at a time; a 429 waits its Retry-After; none for an anonymous user). */
  refresh() {
    if (this.inflight) return this.inflight;
    if (this.now() < this.retryAt) return Promise.resolve(false);
    this.inflight = this.sync().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  async sync() {
    const userId = this.userId() ?? null;
    if (!userId) return false; // an anonymous device user has no cards
    const prev = this.store.get('cards');
    const syncToken = prev && prev.user_id === userId ? prev.sync_token : null;
    const headers = { 'Content-Type': 'application/json', [API_KEY_HEADER]: this.apiKey };
    const token = userId ? this.token(userId) : null;
    if (token) headers[SDK_AUTH_HEADER] = token;
    let res;
    try {
      res = await this.fetch(this.baseUrl + CARDS_SYNC_PATH, {
        method: 'POST', headers, credentials: 'omit', mode: 'cors',
        body: JSON.stringify(cardsSyncRequest({ deviceId: this.deviceId(), userId, syncToken })),
      });
    } catch (err) {
      this.log('content cards sync failed', err && err.message);
      return false;
    }
    if (!res.ok) {
      if (res.status === 401 && this.onAuthError) {
        let message = `HTTP ${res.status}`;
        try {
          message = (await res.json()).message || message;
        } catch {
          // no body
        }
        if (token || /token|auth/i.test(message)) this.onAuthError({ userId, status: res.status, message });
      }
      if (res.status === 429) {
        const s = Number(res.headers && res.headers.get && res.headers.get('Retry-After'));
        this.retryAt = this.now() + (Number.isFinite(s) && s > 0 ? s * 1000 : CARDS_REFRESH_MS);
      }
      this.log('content cards sync answered', res.status);
      return false;
    }
    let json = null;
    try {
      json = await res.json();
    } catch {
      return false;
    }
    if ((this.userId() ?? null) !== userId) return false; // the user changed meanwhile
    const r = readCardsResponse(json);
    const current = prev && prev.user_id === userId && Array.isArray(prev.cards) ? prev.cards : [];
    this.save(mergeCards(current, r), r.syncToken);
    this.lastSyncAt = this.now();
    this.notify();
    return true;
  }

  /** Marks a card locally (viewed, clicked) or removes it (dismissed), and tells subscribers when the feed changed. */
  mark(cardId, state) {
    const f = this.store.get('cards');
    if (!f || f.user_id !== (this.userId() ?? null) || !Array.isArray(f.cards)) return;
    let changed = false;
    const cards = [];
    for (const c of f.cards) {
      if (c.id !== cardId) {
        cards.push(c);
        continue;
      }
      if (state === 'dismissed') {
        changed = true;
        continue;
      }
      if (!c[state]) {
        cards.push({ ...c, [state]: true });
        changed = true;
      } else cards.push(c);
    }
    if (!changed) return;
    this.store.set('cards', { ...f, cards });
    if (state === 'dismissed') this.notify();
  }
}
