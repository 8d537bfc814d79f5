/* Herald service worker: shows Web Push notifications sent by Herald and
 * reports their opens. Serve it from your site (default path /herald-sw.js;
 * its scope is the folder it is served from) — or importScripts() it from
 * your own worker.
 *
 * The push payload is the JSON Herald's webpush channel builds
 * (channels/webpush/payload.go): title, body, icon, image, url,
 * require_interaction, tag, buttons [{text, action: OPEN_APP|URI|CLOSE, uri}],
 * extra, herald_message_id, herald_dispatch_id.
 *
 * The notification's tag is the message's collapse id (payload.tag, else
 * herald_message_id): a rare re-send of the same message replaces the
 * notification on screen instead of showing a second one (the Web Push Topic
 * header only replaces a message still queued at the push service).
 *
 * A click opens the message's url (or a URI button's uri, or the site) and
 * reports a push_open item to POST /sdk/v1/data with the configuration the
 * page's SDK handed over (Herald's URL, SDK key, device, user). If Herald
 * cannot be reached, the open goes to an open page's SDK queue, or waits in
 * the worker's cache for its next wake-up.
 */
/* eslint-env serviceworker */
'use strict';

(function heraldServiceWorker(sw) {
  const CACHE = 'herald-sw-v1';
  const CONFIG_KEY = 'https://herald.invalid/config';
  const PENDING_KEY = 'https://herald.invalid/pending-opens';

  function uuid() {
    if (sw.crypto && sw.crypto.randomUUID) return sw.crypto.randomUUID();
    const b = new Uint8Array(16);
    sw.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  async function readJSON(key) {
    try {
      const c = await sw.caches.open(CACHE);
      const r = await c.match(key);
      return r ? await r.json() : null;
    } catch (e) {
      return null;
    }
  }

  async function writeJSON(key, value) {
    const c = await sw.caches.open(CACHE);
    await c.put(key, new Response(JSON.stringify(value), { headers: { 'Content-Type': 'application/json' } }));
  }

  function safeUrl(u) {
    if (typeof u !== 'string' || u === '') return null;
    try {
      const url = new URL(u, sw.registration.scope);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** The notification a push payload asks for. */
  function notification(p) {
    const buttons = Array.isArray(p.buttons) ? p.buttons : [];
    const max = (sw.Notification && sw.Notification.maxActions) || 2;
    const tag = p.tag || p.herald_message_id || undefined;
    const options = {
      body: p.body || '',
      tag,
      requireInteraction: !!p.require_interaction,
      data: {
        url: p.url || null,
        buttons,
        extra: p.extra || null,
        herald_message_id: p.herald_message_id || null,
        herald_dispatch_id: p.herald_dispatch_id || null,
      },
      actions: buttons.slice(0, max).map((b, i) => ({ action: String(i), title: String(b.text || '') })),
    };
    if (p.icon) options.icon = p.icon;
    if (p.image) options.image = p.image;
    return { title: p.title || '', options };
  }

  function payloadOf(event) {
    if (!event.data) return {};
    try {
      return event.data.json() || {};
    } catch (e) {
      return { body: event.data.text() };
    }
  }

  sw.addEventListener('install', () => sw.skipWaiting());
  sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

  sw.addEventListener('message', (event) => {
    const d = event.data;
    if (d && d.herald === 'config' && d.config) {
      event.waitUntil(writeJSON(CONFIG_KEY, d.config).then(sendPending));
    }
  });

  sw.addEventListener('push', (event) => {
    const n = notification(payloadOf(event));
    event.waitUntil(Promise.all([sw.registration.showNotification(n.title, n.options), sendPending()]));
  });

  sw.addEventListener('notificationclick', (event) => {
    const d = event.notification.data || {};
    event.notification.close();
    let action = 'OPEN_APP';
    let target = safeUrl(d.url);
    if (event.action !== '' && event.action !== undefined) {
      const b = (d.buttons || [])[Number(event.action)];
      if (b) {
        action = b.action || 'OPEN_APP';
        if (action === 'URI') target = safeUrl(b.uri);
      }
    }
    if (action === 'CLOSE') return;
    const open = {
      herald: 'push_open',
      id: uuid(),
      at: Date.now(),
      message_id: d.herald_message_id,
      dispatch_id: d.herald_dispatch_id,
    };
    const campaignId = d.extra && (d.extra.herald_campaign_id || d.extra.campaign_id);
    event.waitUntil(Promise.all([
      d.herald_message_id && d.herald_dispatch_id ? reportOpen(open) : null,
      focusOrOpen(target || sw.registration.scope, { herald: 'push_click', message_id: d.herald_message_id, campaign_id: campaignId || null }),
    ]));
  });

  async function focusOrOpen(url, message) {
    const list = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
    let client = list.find((c) => c.url === url) || null;
    if (client && client.focus) client = await client.focus();
    else if (sw.clients.openWindow) client = await sw.clients.openWindow(url);
    if (client) client.postMessage(message);
  }

  /** Sends a push_open to Herald; on failure hands it to an open page, or keeps it for later. */
  async function reportOpen(open) {
    if (await post([open])) return;
    const list = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (list.length > 0) {
      list[0].postMessage(open);
      return;
    }
    const pending = (await readJSON(PENDING_KEY)) || [];
    pending.push(open);
    await writeJSON(PENDING_KEY, pending.slice(-100));
  }

  async function sendPending() {
    const pending = await readJSON(PENDING_KEY);
    if (!pending || pending.length === 0) return;
    if (await post(pending)) await writeJSON(PENDING_KEY, []);
  }

  async function post(opens) {
    const cfg = await readJSON(CONFIG_KEY);
    if (!cfg || !cfg.baseUrl || !cfg.apiKey || !cfg.device) return false;
    const headers = { 'Content-Type': 'application/json', 'X-Herald-Api-Key': cfg.apiKey };
    if (cfg.userId && cfg.sdkAuthToken) headers['X-Herald-Sdk-Auth'] = cfg.sdkAuthToken;
    const body = {
      device: cfg.device,
      user_id: cfg.userId || null,
      items: opens.map((o) => ({
        id: o.id,
        type: 'push_open',
        time: new Date(o.at).toISOString(),
        data: { herald_message_id: o.message_id, herald_dispatch_id: o.dispatch_id },
      })),
    };
    try {
      const res = await fetch(cfg.baseUrl + '/sdk/v1/data', { method: 'POST', headers, body: JSON.stringify(body), credentials: 'omit' });
      return res.ok || (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 408 && res.status !== 429);
    } catch (e) {
      return false;
    }
  }

  // For tests and for sites that build their own worker around this one.
  sw.heraldServiceWorker = { notification, safeUrl };
})(self);
