import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';

import { settle } from './helpers.js';

const source = readFileSync(new URL('../herald-sw.js', import.meta.url), 'utf8');

/** Runs herald-sw.js in a fake ServiceWorkerGlobalScope. */
function worker({ fetchOk = true } = {}) {
  const handlers = {};
  const shown = [];
  const posted = [];
  const requests = [];
  const opened = [];
  const store = new Map();
  const cache = {
    match: async (k) => (store.has(k) ? { json: async () => JSON.parse(store.get(k)) } : undefined),
    put: async (k, res) => store.set(k, res.body),
  };
  const client = { url: 'https://shop.test/', focus: async () => client, postMessage: (m) => posted.push(m) };
  const self = {
    crypto: { randomUUID: () => 'sw-uuid-1' },
    caches: { open: async () => cache },
    registration: { scope: 'https://shop.test/', showNotification: async (title, options) => shown.push({ title, options }) },
    clients: {
      claim: async () => {},
      matchAll: async () => [client],
      openWindow: async (url) => {
        opened.push(url);
        return client;
      },
    },
    skipWaiting() {},
    addEventListener: (type, fn) => (handlers[type] = fn),
  };
  class Response {
    constructor(body) {
      this.body = body;
    }
  }
  const fetch = async (url, init) => {
    requests.push({ url, init, body: JSON.parse(init.body) });
    if (!fetchOk) throw new TypeError('offline');
    return { ok: true, status: 200 };
  };
  vm.runInNewContext(source, { self, Response, fetch, URL, Date, JSON, Promise, Uint8Array, Array, Number, String });
  const dispatch = async (type, event) => {
    const waits = [];
    handlers[type]({ ...event, waitUntil: (p) => waits.push(p) });
    await Promise.all(waits);
    await settle();
  };
  return { self, handlers, shown, posted, requests, opened, dispatch };
}

const payload = {
  title: 'Sale', body: 'Lamps -20%', icon: 'https://cdn.test/i.png', url: 'https://shop.test/sale', tag: 'msg-42',
  buttons: [{ text: 'Open', action: 'OPEN_APP' }, { text: 'Shop', action: 'URI', uri: 'https://shop.test/lamps' }, { text: 'Later', action: 'CLOSE' }],
  extra: { k: 'v' }, herald_message_id: 'msg-42', herald_dispatch_id: 'disp-7',
};

test('a push shows a notification tagged with the collapse id', async () => {
  const w = worker();
  await w.dispatch('push', { data: { json: () => payload } });
  assert.equal(w.shown.length, 1);
  const { title, options } = w.shown[0];
  assert.equal(title, 'Sale');
  assert.equal(options.body, 'Lamps -20%');
  assert.equal(options.tag, 'msg-42');
  assert.equal(options.renotify, undefined, 'a re-send replaces silently');
  assert.deepEqual(options.actions.map((a) => a.title), ['Open', 'Shop']);
  assert.equal(options.data.herald_dispatch_id, 'disp-7');

  const noTag = worker();
  await noTag.dispatch('push', { data: { json: () => ({ ...payload, tag: undefined }) } });
  assert.equal(noTag.shown[0].options.tag, 'msg-42', 'falls back to the message id');
});

test('a click opens the url and reports a push_open with the configuration the page handed over', async () => {
  const w = worker();
  await w.dispatch('message', { data: { herald: 'config', config: { baseUrl: 'https://herald.test', apiKey: 'hsk_1', userId: 'u1', sdkAuthToken: 'jwt', device: { device_id: 'dev-1', sdk_version: 'web/0.1.0' } } } });
  let closed = false;
  await w.dispatch('notificationclick', { action: '1', notification: { data: w.self.heraldServiceWorker.notification(payload).options.data, close: () => (closed = true) } });
  assert.equal(closed, true);
  assert.equal(w.requests.length, 1);
  const r = w.requests[0];
  assert.equal(r.url, 'https://herald.test/sdk/v1/data');
  assert.equal(r.init.headers['X-Herald-Api-Key'], 'hsk_1');
  assert.equal(r.init.headers['X-Herald-Sdk-Auth'], 'jwt');
  assert.equal(r.body.user_id, 'u1');
  assert.equal(r.body.device.device_id, 'dev-1');
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].type, 'push_open');
  assert.equal(r.body.items[0].id, 'sw-uuid-1');
  assert.deepEqual(r.body.items[0].data, { herald_message_id: 'msg-42', herald_dispatch_id: 'disp-7' });
  assert.deepEqual(w.posted.map((m) => m.herald), ['push_click'], 'the page hears of the click (push_click triggers)');
});

test('an open Herald cannot take goes to the page\'s queue; a CLOSE button reports nothing', async () => {
  const w = worker({ fetchOk: false });
  await w.dispatch('message', { data: { herald: 'config', config: { baseUrl: 'https://herald.test', apiKey: 'k', device: { device_id: 'd' } } } });
  const data = w.self.heraldServiceWorker.notification(payload).options.data;
  await w.dispatch('notificationclick', { action: '', notification: { data, close() {} } });
  const open = w.posted.find((m) => m.herald === 'push_open');
  assert.ok(open, 'handed to the page');
  assert.equal(open.id, 'sw-uuid-1');
  assert.equal(open.message_id, 'msg-42');

  const c = worker();
  await c.dispatch('notificationclick', { action: '2', notification: { data, close() {} } });
  assert.equal(c.requests.length, 0);
  assert.equal(c.posted.length, 0);
});

test('only http(s) urls are opened', () => {
  const w = worker();
  assert.equal(w.self.heraldServiceWorker.safeUrl('javascript:alert(1)'), null);
  assert.equal(w.self.heraldServiceWorker.safeUrl('/deals'), 'https://shop.test/deals');
});
