// HeraldClient: one SDK instance. It owns the session, the offline queue and
// its flushing, the in-app messages of the session and their display, the
// Content Cards feed and Web Push registration. Everything it touches in the
// browser comes from an env object, so tests run it under Node with stubs.

import { ContentCards } from './cards.js';
import { browserEnv, deviceInfo, flushInterval, uuid } from './env.js';
import { renderInAppMessage, safeUri } from './inapp.js';
import * as P from './protocol.js';
import { configureWorker, currentSubscription, pushSupported, subscribe } from './push.js';
import { Queue, Store } from './store.js';
import { MAX_BACKOFF_MS, Sent, Transport } from './transport.js';
import { pickMessage } from './triggers.js';

/** A session ends after this long without activity (Braze's web default). */
export const SESSION_TIMEOUT_MS = 30 * 60_000;

/** The minimum interval between two in-app messages until the server says otherwise. */
export const DEFAULT_MIN_INTERVAL_S = 30;

export class HeraldClient {
  constructor(env = browserEnv()) {
    this.env = env;
    this.initialized = false;
    this.timer = null;
    this.backoffMs = 0;
    this.flushing = null;
    this.tokens = new Map();
    this.listeners = [];
    this.displayed = null;
    this.inAppSubscribers = new Set();
    this.authErrorSubscribers = new Set();
  }

  /**
   * Starts the SDK.
   * @param {string} apiKey the app's SDK key
   * @param {object} opts
   * @param {string} opts.baseUrl Herald's URL, e.g. https://herald.example.com
   * @param {string} [opts.sdkAuthToken] SDK authentication token of the current user
   * @param {string} [opts.appVersion]
   * @param {string} [opts.vapidPublicKey] the app's VAPID public key (base64url), for requestPushPermission()
   * @param {string} [opts.serviceWorkerUrl] default "/herald-sw.js"
   * @param {string} [opts.serviceWorkerScope]
   * @param {number} [opts.sessionTimeoutInSeconds] default 1800
   * @param {boolean} [opts.openInAppMessagesInNewTab]
   * @param {boolean} [opts.enableLogging]
   * @param {number} [opts.maxQueueSize] default 1000 items
   */
  init(apiKey, opts = {}) {
    if (this.initialized) return false;
    if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('herald: init needs the app\'s SDK key');
    if (typeof opts.baseUrl !== 'string' || opts.baseUrl === '') throw new TypeError('herald: init needs {baseUrl}');
    const env = this.env;
    this.apiKey = apiKey;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.opts = {
      serviceWorkerUrl: '/herald-sw.js',
      sessionTimeoutMs: opts.sessionTimeoutInSeconds > 0 ? opts.sessionTimeoutInSeconds * 1000 : SESSION_TIMEOUT_MS,
      ...opts,
    };
    this.store = new Store(env.storage, `herald.${apiKey}.`);
    this.queue = new Queue(this.store, {
      max: opts.maxQueueSize,
      onDrop: (n) => this.log(`offline queue full: dropped the ${n} oldest items`),
    });
    this.deviceId = this.store.get('device_id');
    if (typeof this.deviceId !== 'string' || this.deviceId === '') {
      this.deviceId = uuid(env.crypto);
      this.store.set('device_id', this.deviceId);
    }
    this.userId = this.store.get('user_id') || null;
    if (opts.sdkAuthToken && this.userId) this.tokens.set(this.userId, opts.sdkAuthToken);
    this.pendingToken = opts.sdkAuthToken || null; // for the user named by the next changeUser
    this.device = { ...deviceInfo(env, opts.appVersion), device_id: this.deviceId, sdk_version: P.SDK_VERSION };
    this.transport = new Transport({
      fetch: env.fetch, queue: this.queue, baseUrl: this.baseUrl, apiKey,
      device: () => this.device,
      token: (u) => this.tokens.get(u) || null,
      onResponse: (r, batch) => this.onDataResponse(r, batch),
      onAuthError: (e) => this.onAuthError(e),
      log: (...a) => this.log(...a),
      now: env.now,
      maxItemAgeMs: () => ((this.store.get('config') || {}).max_item_age_s || P.MAX_ITEM_AGE_S) * 1000,
    });
    this.cards = new ContentCards({
      store: this.store, fetch: env.fetch, now: env.now, baseUrl: this.baseUrl, apiKey,
      deviceId: () => this.deviceId, userId: () => this.userId,
      token: (u) => this.tokens.get(u) || null,
      onAuthError: (e) => this.onAuthError(e),
      log: (...a) => this.log(...a),
    });
    const session = this.store.get('session');
    const iam = this.store.get('iam');
    this.messages = iam && session && iam.session_id === session.id && Array.isArray(iam.messages) ? iam.messages : [];
    this.initialized = true;
    this.listen();
    this.touch();
    if (this.queue.length > 0) this.flush(); // replay what an earlier page left
    return true;
  }

  log(...args) {
    if (this.opts && this.opts.enableLogging && this.env.console) this.env.console.log('[herald]', ...args);
  }

  listen() {
    const { window: w, document: d, navigator: n } = this.env;
    const on = (target, type, fn) => {
      if (!target || typeof target.addEventListener !== 'function') return;
      target.addEventListener(type, fn);
      this.listeners.push(() => target.removeEventListener(type, fn));
    };
    on(w, 'pagehide', () => this.flush({ keepalive: true }));
    on(d, 'visibilitychange', () => {
      if (d.visibilityState === 'hidden') this.flush({ keepalive: true });
      else this.touch();
    });
    on(w, 'online', () => {
      this.backoffMs = 0;
      this.flush();
    });
    on(n && n.connection, 'change', () => this.reschedule());
    on(n && n.serviceWorker, 'message', (e) => this.onWorkerMessage(e.data));
  }

  /** Stops timers and listeners (the queue stays in storage). */
  destroy() {
    if (this.timer) this.env.clearTimeout(this.timer);
    this.timer = null;
    for (const off of this.listeners) off();
    this.listeners = [];
    if (this.displayed) this.displayed.close();
    this.initialized = false;
  }

  ready() {
    if (!this.initialized) {
      if (this.env.console) this.env.console.warn('[herald] call init(apiKey, {baseUrl}) first');
      return false;
    }
    return true;
  }

  // ---- sessions --------------------------------------------------------

  /** Activity: continues the session, or ends an expired one and starts a new one. */
  touch() {
    const now = this.env.now();
    const s = this.store.get('session');
    if (s && now - s.last_at <= this.opts.sessionTimeoutMs) {
      s.last_at = now;
      this.store.set('session', s);
      return s;
    }
    if (s) this.endSession(s);
    return this.startSession(now);
  }

  startSession(now) {
    const s = { id: uuid(this.env.crypto), started_at: now, last_at: now, start_item: null };
    const entry = this.enqueue(P.ItemType.SESSION_START, P.sessionStartData(s.id), now);
    s.start_item = entry.id;
    this.store.set('session', s);
    this.messages = [];
    this.store.set('iam', { session_id: s.id, messages: [] });
    this.flush(); // the answer brings this session's in-app messages
    return s;
  }

  endSession(s) {
    this.enqueue(P.ItemType.SESSION_END, P.sessionEndData(s.id, s.last_at - s.started_at), s.last_at);
    this.store.remove('session');
  }

  /** The current session's id (a new session starts if the last one expired). */
  getSessionId() {
    return this.ready() ? this.touch().id : null;
  }

  // ---- the queue and its flushing ---------------------------------------

  /** Queues an item for the current user; returns its queue entry. */
  enqueue(type, data, at = this.env.now()) {
    const id = uuid(this.env.crypto);
    const entry = { id, user_id: this.userId, item: P.item(type, id, at, data) };
    this.queue.add(entry);
    this.schedule();
    return entry;
  }

  /** The current flush interval: by connection quality, longer while backing off. */
  interval() {
    return Math.max(flushInterval(this.env.navigator && this.env.navigator.connection), this.backoffMs);
  }

  schedule() {
    if (this.timer || !this.initialized || this.queue.length === 0) return;
    this.timer = this.env.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.interval());
  }

  reschedule() {
    if (this.timer) this.env.clearTimeout(this.timer);
    this.timer = null;
    this.schedule();
  }

  /**
   * Sends the queue now, batch by batch, until it is empty or a send fails.
   * With keepalive (page hide) one batch that fits a keepalive request is
   * sent even while another flush is running: if both arrive, the server
   * records the items once.
   */
  flush({ keepalive = false } = {}) {
    if (!this.initialized) return Promise.resolve();
    if (keepalive) {
      const s = this.store.get('session');
      if (s) this.store.set('session', { ...s, last_at: this.env.now() });
      return this.transport.sendNext({ keepalive: true }).then((r) => this.afterSend(r));
    }
    if (this.flushing) return this.flushing;
    if (this.timer) this.env.clearTimeout(this.timer);
    this.timer = null;
    this.flushing = (async () => {
      for (;;) {
        const r = await this.transport.sendNext();
        this.afterSend(r);
        if (r !== Sent.OK && r !== Sent.DROPPED) break;
      }
    })().finally(() => {
      this.flushing = null;
      this.schedule();
    });
    return this.flushing;
  }

  afterSend(r) {
    if (r === Sent.RETRY || r === Sent.AUTH) {
      const base = flushInterval(this.env.navigator && this.env.navigator.connection);
      this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(this.backoffMs * 2, base * 2, this.transport.retryAfterMs));
      this.transport.retryAfterMs = 0;
    } else if (r === Sent.OK) {
      this.backoffMs = 0;
    }
  }

  /** Sends everything queued now (Braze's requestImmediateDataFlush). */
  requestImmediateDataFlush() {
    return this.ready() ? this.flush() : Promise.resolve();
  }

  onDataResponse(r, batch) {
    if (r.minIntervalS !== null || r.maxItemAgeS !== null) {
      const cfg = this.store.get('config') || {};
      if (r.minIntervalS !== null) cfg.min_in_app_interval_s = r.minIntervalS;
      if (r.maxItemAgeS !== null) cfg.max_item_age_s = r.maxItemAgeS;
      this.store.set('config', cfg);
    }
    const s = this.store.get('session');
    const startedNow = s && s.start_item && batch.some((e) => e.id === s.start_item);
    if (r.inAppMessages && (batch[0].user_id ?? null) === this.userId && startedNow) {
      this.messages = r.inAppMessages.filter((m) => m && typeof m.id === 'string' && m.trigger);
      this.store.set('iam', { session_id: s.id, messages: this.messages });
    }
    if (startedNow) {
      this.store.set('session', { ...s, start_item: null });
      this.trigger({ type: 'session_start' });
      this.cards.refresh();
      this.refreshPush();
    }
  }

  onAuthError(e) {
    for (const cb of this.authErrorSubscribers) {
      try {
        cb(e);
      } catch (err) {
        this.log('sdk authentication error subscriber failed', err);
      }
    }
  }

  /** cb({userId, status, message}) when Herald refuses the SDK auth token; answer with setSdkAuthToken. */
  subscribeToSdkAuthenticationFailures(cb) {
    this.authErrorSubscribers.add(cb);
    return () => this.authErrorSubscribers.delete(cb);
  }

  /** Sets the SDK authentication token of the current user (and sends what waited for it). */
  setSdkAuthToken(token) {
    if (!this.ready()) return;
    if (this.userId) this.tokens.set(this.userId, token);
    else this.pendingToken = token;
    this.backoffMs = 0;
    this.flush();
  }

  // ---- users and data ----------------------------------------------------

  /** Identifies the user: a new user ends the session and starts one for them. */
  changeUser(externalId, sdkAuthToken) {
    if (!this.ready()) return false;
    if (typeof externalId !== 'string' || externalId === '' || externalId.length > 512) {
      this.log('changeUser needs a non-empty external id of at most 512 characters');
      return false;
    }
    const token = sdkAuthToken || (this.userId === null ? this.pendingToken : null);
    if (token) this.tokens.set(externalId, token);
    this.pendingToken = null;
    if (externalId === this.userId) {
      if (sdkAuthToken) this.flush();
      return true;
    }
    const s = this.store.get('session');
    if (s) this.endSession(s);
    this.userId = externalId;
    this.store.set('user_id', externalId);
    this.cards.reset();
    this.startSession(this.env.now());
    return true;
  }

  getUserId() {
    return this.userId;
  }

  getDeviceId() {
    return this.deviceId;
  }

  setCustomAttribute(key, value) {
    if (typeof key !== 'string' || key === '') return false;
    return this.setAttributes({ [key]: value });
  }

  /** Sets standard and custom attributes at once (the names /users/track takes). */
  setAttributes(attributes) {
    if (!this.ready() || !attributes || typeof attributes !== 'object' || Object.keys(attributes).length === 0) return false;
    this.touch();
    this.enqueue(P.ItemType.ATTRIBUTES, P.attributesData(plain(attributes)));
    return true;
  }

  logCustomEvent(name, properties = {}) {
    if (!this.ready() || typeof name !== 'string' || name === '') return false;
    const props = plain(properties || {});
    this.touch();
    this.enqueue(P.ItemType.CUSTOM_EVENT, P.customEventData(name, props));
    this.trigger({ type: 'custom_event', name, properties: props });
    return true;
  }

  logPurchase(productId, price, currency = 'USD', quantity = 1, properties = {}) {
    if (!this.ready() || typeof productId !== 'string' || productId === '') return false;
    if (typeof price !== 'number' || !Number.isFinite(price)) return false;
    if (!Number.isInteger(quantity) || quantity < 1) return false;
    const cur = String(currency || 'USD').toUpperCase();
    const props = plain(properties || {});
    this.touch();
    this.enqueue(P.ItemType.PURCHASE, P.purchaseData(productId, price, cur, quantity, props));
    this.trigger({ type: 'purchase', productId, properties: props });
    return true;
  }

  // ---- in-app messages ---------------------------------------------------

  minIntervalMs() {
    const cfg = this.store.get('config');
    const s = cfg && typeof cfg.min_in_app_interval_s === 'number' ? cfg.min_in_app_interval_s : DEFAULT_MIN_INTERVAL_S;
    return s * 1000;
  }

  /**
   * A local happening: shows the highest-priority message it triggers, unless
   * one is on screen or the last display was less than the minimum interval
   * ago (the message is then not shown for this happening). A shown message
   * leaves the session's list.
   */
  trigger(h) {
    const m = pickMessage(this.messages, h);
    if (!m || this.displayed) return null;
    const now = this.env.now();
    const last = this.store.get('last_in_app_at') || 0;
    if (now - last < this.minIntervalMs()) {
      this.log('in-app message held back by the minimum interval', m.id);
      return null;
    }
    this.store.set('last_in_app_at', now);
    this.messages = this.messages.filter((x) => x !== m);
    const s = this.store.get('session');
    if (s) this.store.set('iam', { session_id: s.id, messages: this.messages });
    if (this.inAppSubscribers.size > 0) {
      for (const cb of this.inAppSubscribers) cb(m);
    } else {
      this.showInAppMessage(m);
    }
    return m;
  }

  /** cb(message) instead of the SDK's own display; call showInAppMessage(message) to show it. */
  subscribeToInAppMessage(cb) {
    this.inAppSubscribers.add(cb);
    return () => this.inAppSubscribers.delete(cb);
  }

  /** Shows a message now and logs its impression, clicks and dismissal. */
  showInAppMessage(m) {
    const doc = this.env.document;
    if (!this.ready() || !doc || !doc.body || this.displayed) return false;
    let acted = false;
    this.displayed = renderInAppMessage(doc, m, {
      win: this.env.window,
      onClick: () => {
        acted = true;
        this.logInAppMessageClick(m);
      },
      onButton: (b, i) => {
        acted = true;
        this.logInAppMessageButtonClick(m, b && b.id !== undefined && b.id !== null ? b.id : i);
      },
      onClose: (userDismissed) => {
        this.displayed = null;
        if (userDismissed && !acted) this.logInAppMessageDismissal(m);
      },
      open: (uri) => this.open(uri),
    });
    this.logInAppMessageImpression(m);
    return true;
  }

  open(uri) {
    const w = this.env.window;
    if (!w || !safeUri(uri)) return;
    if (this.opts.openInAppMessagesInNewTab) w.open(uri, '_blank', 'noopener');
    else w.location.assign(uri);
  }

  logInAppMessageImpression(m) {
    return this.engage(P.ItemType.IN_APP_IMPRESSION, P.inAppData(idOf(m)));
  }

  logInAppMessageClick(m) {
    return this.engage(P.ItemType.IN_APP_CLICK, P.inAppData(idOf(m)));
  }

  logInAppMessageButtonClick(m, buttonId) {
    return this.engage(P.ItemType.IN_APP_BUTTON_CLICK, P.inAppData(idOf(m), buttonId ?? 0));
  }

  logInAppMessageDismissal(m) {
    return this.engage(P.ItemType.IN_APP_DISMISS, P.inAppData(idOf(m)));
  }

  engage(type, data) {
    if (!this.ready() || !Object.values(data)[0]) return false;
    this.touch();
    this.enqueue(type, data);
    return true;
  }

  // ---- Content Cards -----------------------------------------------------

  /** The user's cards, synced first when the feed is more than a minute old. */
  getContentCards() {
    return this.ready() ? this.cards.get() : Promise.resolve([]);
  }

  getCachedContentCards() {
    return this.ready() ? this.cards.cached() : [];
  }

  requestContentCardsRefresh() {
    return this.ready() ? this.cards.refresh() : Promise.resolve(false);
  }

  /** cb(cards) after every sync that changed the feed and every dismissal; returns an unsubscribe function. */
  subscribeToContentCardsUpdates(cb) {
    if (!this.ready()) return () => {};
    return this.cards.subscribe(cb);
  }

  logCardImpression(cards) {
    return this.cardEngagement(cards, P.ItemType.CARD_IMPRESSION, 'viewed');
  }

  logCardClick(card) {
    return this.cardEngagement(card, P.ItemType.CARD_CLICK, 'clicked');
  }

  logCardDismissal(card) {
    return this.cardEngagement(card, P.ItemType.CARD_DISMISS, 'dismissed');
  }

  cardEngagement(cards, type, state) {
    if (!this.ready()) return false;
    const list = Array.isArray(cards) ? cards : [cards];
    let ok = false;
    for (const c of list) {
      const id = typeof c === 'string' ? c : c && c.id;
      if (!id) continue;
      ok = this.engage(type, P.cardData(id, c && c.dispatch_id)) || ok;
      this.cards.mark(id, state);
    }
    return ok;
  }

  // ---- Web Push ----------------------------------------------------------

  isPushSupported() {
    return pushSupported(this.env);
  }

  /**
   * Asks for notification permission, subscribes through the service worker
   * with the app's VAPID key and registers the subscription with Herald.
   * Resolves to "granted", "denied", "default" or "unsupported".
   */
  async requestPushPermission() {
    if (!this.ready()) return 'unsupported';
    if (!this.isPushSupported()) return 'unsupported';
    const key = this.opts.vapidPublicKey;
    if (!key) throw new Error('herald: requestPushPermission needs the app\'s VAPID public key: init(apiKey, {vapidPublicKey})');
    const permission = await this.env.window.Notification.requestPermission();
    if (permission !== 'granted') return permission;
    const { subscription, registration } = await subscribe(this.env, {
      vapidPublicKey: key, serviceWorkerUrl: this.opts.serviceWorkerUrl, scope: this.opts.serviceWorkerScope,
    });
    this.registerSubscription(subscription, registration, true);
    await this.flush();
    return permission;
  }

  registerSubscription(subscription, registration, force) {
    configureWorker(registration, {
      baseUrl: this.baseUrl, apiKey: this.apiKey, userId: this.userId, device: this.device,
      sdkAuthToken: this.userId ? this.tokens.get(this.userId) || null : null,
    });
    const sent = this.store.get('push_sent');
    const json = JSON.stringify(subscription);
    if (!force && sent && sent.user_id === this.userId && sent.token === json) return;
    this.enqueue(P.ItemType.PUSH_TOKEN, P.pushTokenData(subscription, true));
    this.store.set('push_sent', { user_id: this.userId, token: json });
  }

  /** At session start: a subscription that changed (or a new user) is registered again. */
  async refreshPush() {
    try {
      const cur = await currentSubscription(this.env, this.opts.serviceWorkerScope);
      if (cur) this.registerSubscription(cur.subscription, cur.registration, false);
    } catch (err) {
      this.log('push subscription check failed', err && err.message);
    }
  }

  /** Messages from the Herald service worker: a push clicked, or an open it could not send. */
  onWorkerMessage(data) {
    if (!data || typeof data !== 'object' || !this.initialized) return;
    if (data.herald === 'push_click') {
      this.touch();
      this.trigger({ type: 'push_click', campaignId: data.campaign_id || undefined });
    } else if (data.herald === 'push_open' && data.message_id && data.dispatch_id) {
      // the worker could not reach Herald: the page's queue sends it, with the worker's id
      const id = typeof data.id === 'string' && data.id ? data.id : uuid(this.env.crypto);
      const at = typeof data.at === 'number' ? data.at : this.env.now();
      this.queue.add({ id, user_id: this.userId, item: P.item(P.ItemType.PUSH_OPEN, id, at, P.pushOpenData(data.message_id, data.dispatch_id)) });
      this.schedule();
    }
  }
}

function idOf(m) {
  return typeof m === 'string' ? m : m && m.id;
}

/** A JSON-safe copy: dates as ISO strings, functions and undefined dropped. */
function plain(v) {
  return JSON.parse(JSON.stringify(v, (_, x) => (x instanceof Date ? x.toISOString() : x)));
}
