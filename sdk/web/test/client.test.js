import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HeraldClient } from '../src/client.js';
import { Clock, FakeHerald, MemoryStorage, makeEnv, response, settle, started } from './helpers.js';

const MIN = 60_000;

test('init starts a session and sends it at once, with the device and the SDK key', async () => {
  const { herald, c } = await started({ init: { appVersion: '3.1.0' } });
  const reqs = herald.dataRequests();
  assert.equal(reqs.length, 1);
  const r = reqs[0];
  assert.equal(r.url, 'https://herald.test/sdk/v1/data');
  assert.equal(r.headers['X-Herald-Api-Key'], 'hsk_test');
  assert.equal(r.headers['X-Herald-Sdk-Auth'], undefined);
  assert.deepEqual(Object.keys(r.body).sort(), ['device', 'items', 'user_id']);
  assert.equal(r.body.user_id, null);
  assert.equal(r.body.device.device_id, c.getDeviceId());
  assert.equal(r.body.device.sdk_version, 'web/0.1.0');
  assert.equal(r.body.device.app_version, '3.1.0');
  assert.equal(r.body.device.os, 'Linux');
  assert.equal(r.body.device.model, 'Chrome 120');
  assert.equal(r.body.device.locale, 'en-US');
  assert.equal(r.body.items.length, 1);
  const it = r.body.items[0];
  assert.deepEqual(Object.keys(it).sort(), ['data', 'id', 'time', 'type']);
  assert.equal(it.type, 'session_start');
  assert.equal(it.data.session_id, c.getSessionId());
  assert.match(it.id, /^[A-Za-z0-9\-_.:]{1,64}$/);
  assert.equal(it.time, '2026-11-29T12:00:00.000Z');
});

test('events are batched and sent every 10 s on a good connection', async () => {
  const { herald, clock, c } = await started();
  c.logCustomEvent('a', { n: 1 });
  c.logCustomEvent('b');
  c.logPurchase('sku-1', 9.99, 'eur', 2, { color: 'red' });
  c.setCustomAttribute('plan', 'gold');
  c.setAttributes({ first_name: 'Ada', visits: { inc: 1 } });
  assert.equal(herald.dataRequests().length, 1, 'nothing before the interval');
  assert.deepEqual(clock.pending(), [10_000]);
  await clock.advance(9_999);
  assert.equal(herald.dataRequests().length, 1);
  await clock.advance(1);
  const reqs = herald.dataRequests();
  assert.equal(reqs.length, 2);
  const items = reqs[1].body.items;
  assert.deepEqual(items.map((i) => i.type), ['custom_event', 'custom_event', 'purchase', 'attributes', 'attributes']);
  assert.deepEqual(items[0].data, { name: 'a', properties: { n: 1 } });
  assert.deepEqual(items[1].data, { name: 'b' });
  assert.deepEqual(items[2].data, { product_id: 'sku-1', price: 9.99, currency: 'EUR', quantity: 2, properties: { color: 'red' } });
  assert.deepEqual(items[3].data, { plan: 'gold' });
  assert.deepEqual(items[4].data, { first_name: 'Ada', visits: { inc: 1 } });
  assert.deepEqual(clock.pending(), [], 'no timer while the queue is empty');
  assert.equal(c.queue.length, 0);
});

test('bad calls queue nothing', async () => {
  const { c } = await started();
  assert.equal(c.logCustomEvent(''), false);
  assert.equal(c.logPurchase('sku', 'free'), false);
  assert.equal(c.logPurchase('sku', 1, 'USD', 0), false);
  assert.equal(c.setAttributes({}), false);
  assert.equal(c.changeUser(''), false);
  assert.equal(c.queue.length, 0);
});

test('the flush interval follows the connection quality', async () => {
  for (const [type, want] of [['4g', 10_000], ['3g', 30_000], ['2g', 60_000], ['slow-2g', 60_000], [undefined, 10_000]]) {
    const { clock, c } = await started({ effectiveType: type });
    c.logCustomEvent('e');
    assert.deepEqual(clock.pending(), [want], `effectiveType ${type}`);
  }
  const { clock, c, env } = await started({ effectiveType: '4g' });
  c.logCustomEvent('e');
  env.navigator.connection.effectiveType = '2g';
  env.navigator.connection.dispatchEvent(new Event('change'));
  assert.deepEqual(clock.pending(), [60_000], 'rescheduled on a connection change');
});

test('page hide and a hidden tab flush at once with keepalive', async () => {
  const { herald, env, c } = await started();
  c.logCustomEvent('e1');
  env.window.dispatchEvent(new Event('pagehide'));
  await settle();
  let last = herald.dataRequests().at(-1);
  assert.equal(last.keepalive, true);
  assert.deepEqual(last.body.items.map((i) => i.data.name), ['e1']);
  c.logCustomEvent('e2');
  env.document.visibilityState = 'hidden';
  env.document.dispatchEvent(new Event('visibilitychange'));
  await settle();
  last = herald.dataRequests().at(-1);
  assert.equal(last.keepalive, true);
  assert.deepEqual(last.body.items.map((i) => i.data.name), ['e2']);
  assert.equal(c.queue.length, 0);
});

test('offline: the queue survives a reload and is replayed with the same ids, each recorded once', async () => {
  const storage = new MemoryStorage();
  const herald = new FakeHerald();
  const clock = new Clock();
  const first = await started({ storage, herald, clock });
  await first.clock.advance(1);
  herald.mode = 'offline';
  for (let i = 0; i < 5; i++) first.c.logCustomEvent('offline_event', { i });
  await clock.advance(10_000);
  await clock.advance(20_000);
  assert.ok(herald.dataRequests().length >= 3, 'attempts were made');
  const queued = JSON.parse(storage.getItem('herald.hsk_test.queue'));
  assert.equal(queued.length, 5, 'kept in localStorage');
  first.c.destroy();

  // the page is reloaded while still offline, then the network comes back
  herald.mode = 'up';
  const second = new HeraldClient(makeEnv({ storage, herald, clock }).env);
  second.init('hsk_test', { baseUrl: 'https://herald.test' });
  await settle();
  assert.equal(second.queue.length, 0);
  const events = herald.itemsOfType('custom_event');
  assert.equal(events.length, 5, 'every event recorded once');
  assert.deepEqual(events.map((e) => e.data.properties.i), [0, 1, 2, 3, 4], 'in order');
  assert.deepEqual(new Set(events.map((e) => e.id)), new Set(queued.map((e) => e.id)), 'with the ids they were queued with');
  assert.equal(second.getDeviceId(), first.c.getDeviceId(), 'the device id survives too');
});

test('a lost answer is replayed idempotently: the same ids are sent again', async () => {
  const { herald, clock, c, env } = await started();
  let lose = true;
  const inner = herald.fetch;
  env.fetch = c.transport.fetch = async (url, init) => {
    const res = await inner(url, init); // the server records the batch...
    if (lose) {
      lose = false;
      throw new TypeError('network changed'); // ...but the answer never arrives
    }
    return res;
  };
  c.logCustomEvent('once');
  await clock.advance(10_000);
  assert.equal(c.queue.length, 1, 'not acknowledged: kept');
  await clock.advance(20_000); // the first backoff
  assert.equal(c.queue.length, 0);
  const counts = herald.sendCounts();
  const [ev] = herald.itemsOfType('custom_event');
  assert.equal(counts.get(ev.id), 2, 'sent twice');
  assert.equal(herald.itemsOfType('custom_event').length, 1, 'recorded once');
});

test('items leave the queue only when their batch is acknowledged', async () => {
  const { herald, clock, c, env } = await started();
  let release;
  const gate = new Promise((r) => (release = r));
  const inner = herald.fetch;
  env.fetch = c.transport.fetch = async (url, init) => {
    await gate;
    return inner(url, init);
  };
  c.logCustomEvent('e');
  await clock.advance(10_000);
  assert.equal(c.queue.length, 1, 'in flight, still queued');
  c.logCustomEvent('during');
  release();
  await settle();
  assert.equal(c.queue.length, 0, 'the flush goes on until the queue is empty');
  assert.equal(herald.itemsOfType('custom_event').length, 2);
});

test('failures back off, honour Retry-After, and reset on success; online flushes at once', async () => {
  const { herald, clock, c, env } = await started();
  herald.mode = 503;
  c.logCustomEvent('e');
  await clock.advance(10_000);
  assert.deepEqual(clock.pending(), [20_000]);
  await clock.advance(20_000);
  assert.deepEqual(clock.pending(), [40_000]);
  herald.mode = 429;
  herald.headers = { 'Retry-After': '120' };
  await clock.advance(40_000);
  assert.deepEqual(clock.pending(), [120_000]);
  herald.headers = {};
  herald.mode = 503;
  for (let i = 0; i < 5; i++) await clock.advance(clock.pending()[0]);
  assert.deepEqual(clock.pending(), [300_000], 'at most 5 minutes');
  herald.mode = 'up';
  env.window.dispatchEvent(new Event('online'));
  await settle();
  assert.equal(c.queue.length, 0);
  assert.equal(c.backoffMs, 0);
});

test('a batch refused as malformed (400) is dropped, not retried forever', async () => {
  const { herald, clock, c } = await started();
  herald.mode = 400;
  c.logCustomEvent('e');
  await clock.advance(10_000);
  assert.equal(c.queue.length, 0);
});

test('batches hold at most 100 items, one user each', async () => {
  const { herald, clock, c } = await started();
  for (let i = 0; i < 150; i++) c.logCustomEvent('e', { i });
  c.changeUser('user-1');
  c.logCustomEvent('as_user');
  await settle();
  await clock.advance(10_000);
  const reqs = herald.dataRequests().slice(1);
  assert.deepEqual(reqs.map((r) => [r.body.user_id, r.body.items.length]), [[null, 100], [null, 51], ['user-1', 2]]);
  assert.deepEqual(reqs[1].body.items.at(-1).type, 'session_end');
  assert.deepEqual(reqs[2].body.items.map((i) => i.type), ['session_start', 'custom_event']);
});

test('a session times out after 30 minutes without activity', async () => {
  const { herald, clock, c } = await started();
  const s1 = c.getSessionId();
  await clock.advance(29 * MIN);
  c.logCustomEvent('still_here');
  assert.equal(c.getSessionId(), s1, 'activity within 30 min keeps the session');
  await clock.advance(30 * MIN + 1);
  c.logCustomEvent('back');
  const s2 = c.getSessionId();
  assert.notEqual(s2, s1);
  await settle();
  const types = herald.dataRequests().flatMap((r) => r.body.items).map((i) => `${i.type}:${i.data.session_id || i.data.name}`);
  assert.deepEqual(types, [`session_start:${s1}`, 'custom_event:still_here', `session_end:${s1}`, `session_start:${s2}`, 'custom_event:back']);
  const end = herald.itemsOfType('session_end')[0];
  assert.equal(end.time, new Date(Date.parse('2026-11-29T12:00:00Z') + 29 * MIN).toISOString(), 'ended at the last activity');
  assert.equal(end.data.duration_s, 29 * 60);
});

test('the session also survives a reload within the timeout', async () => {
  const storage = new MemoryStorage();
  const clock = new Clock();
  const herald = new FakeHerald();
  const a = await started({ storage, clock, herald });
  const s = a.c.getSessionId();
  a.c.destroy();
  await clock.advance(5 * MIN);
  const b = await started({ storage, clock, herald });
  assert.equal(b.c.getSessionId(), s);
  assert.equal(herald.itemsOfType('session_start').length, 1);
});

test('changeUser ends the session, starts one for the user and sends the SDK auth token', async () => {
  const { herald, c } = await started({ init: { sdkAuthToken: 'jwt-anon-ignored' } });
  c.logCustomEvent('before');
  c.changeUser('user-7', 'jwt-7');
  await settle();
  const reqs = herald.dataRequests();
  const last = reqs.at(-1);
  assert.equal(last.body.user_id, 'user-7');
  assert.equal(last.headers['X-Herald-Sdk-Auth'], 'jwt-7');
  assert.deepEqual(last.body.items.map((i) => i.type), ['session_start']);
  assert.deepEqual(reqs.at(-2).body.items.map((i) => i.type), ['custom_event', 'session_end']);
  assert.equal(reqs.at(-2).body.user_id, null);
  assert.equal(c.getUserId(), 'user-7');
  assert.equal(c.changeUser('user-7'), true);
  assert.equal(herald.itemsOfType('session_start').length, 2, 'the same user again: no new session');
});

test('a 401 with a token asks the app for a new one and keeps the items', async () => {
  const { herald, clock, c } = await started();
  c.changeUser('user-1', 'expired');
  await settle();
  const failures = [];
  c.subscribeToSdkAuthenticationFailures((e) => failures.push(e));
  herald.mode = 401;
  herald.message = 'X-Herald-Sdk-Auth: token expired: expired at 2026-11-29T11:00:00Z (now 2026-11-29T12:00:00Z)';
  c.logCustomEvent('e');
  await clock.advance(10_000);
  assert.equal(failures.length, 1);
  assert.equal(failures[0].userId, 'user-1');
  assert.match(failures[0].message, /token expired/);
  assert.equal(c.queue.length, 1);
  herald.mode = 'up';
  c.setSdkAuthToken('fresh');
  await settle();
  assert.equal(c.queue.length, 0);
  assert.equal(herald.dataRequests().at(-1).headers['X-Herald-Sdk-Auth'], 'fresh');
});

function iam(id, trigger, priority = 0) {
  return { id, campaign_id: id.split(':')[0], type: 'modal', message: `message ${id}`, priority, trigger };
}

test('in-app messages: session_start shows right after the session-start answer; custom events with property filters', async () => {
  const herald = new FakeHerald();
  herald.inAppMessages = [
    iam('welcome:1', { type: 'session_start' }),
    iam('cart:1', { type: 'custom_event', event_name: 'add_to_cart', property_filters: [{ property: 'price', comparison: 'greater_than', value: 50 }] }),
  ];
  const e = makeEnv({ herald });
  const c = new HeraldClient(e.env);
  const shown = [];
  c.subscribeToInAppMessage((m) => shown.push([m.id, e.clock.now()]));
  c.init('hsk_test', { baseUrl: 'https://herald.test' });
  assert.deepEqual(shown, [], 'not before the answer');
  await settle();
  assert.deepEqual(shown.map((s) => s[0]), ['welcome:1']);
  c.logCustomEvent('add_to_cart', { price: 80 });
  assert.equal(shown.length, 1, 'held back by the 30 s minimum interval');
  await e.clock.advance(30_000);
  c.logCustomEvent('add_to_cart', { price: 40 });
  assert.equal(shown.length, 1, 'the property filter does not match');
  c.logCustomEvent('add_to_cart', { price: 80 });
  assert.deepEqual(shown.map((s) => s[0]), ['welcome:1', 'cart:1']);
  await e.clock.advance(60_000);
  c.logCustomEvent('add_to_cart', { price: 90 });
  assert.equal(shown.length, 2, 'a shown message leaves the session');
});

test('in-app messages: the minimum interval comes from the server config; priority wins', async () => {
  const herald = new FakeHerald();
  herald.minInterval = 5;
  herald.inAppMessages = [
    iam('high:1', { type: 'purchase', product_id: 'sku-1' }, 90),
    iam('low:1', { type: 'purchase' }, 10),
  ];
  const { c, clock } = await started({ herald });
  const shown = [];
  c.subscribeToInAppMessage((m) => shown.push(m.id));
  c.logPurchase('sku-1', 5);
  await clock.advance(4_000);
  c.logPurchase('sku-1', 5);
  await clock.advance(1_000);
  c.logPurchase('sku-1', 5);
  assert.deepEqual(shown, ['high:1', 'low:1']);
  assert.equal(c.minIntervalMs(), 5_000);
});

test('in-app messages persist through a reload within the session and are dropped at a new session', async () => {
  const storage = new MemoryStorage();
  const clock = new Clock();
  const herald = new FakeHerald();
  herald.inAppMessages = [iam('ev:1', { type: 'custom_event', event_name: 'go' })];
  const a = await started({ storage, clock, herald });
  a.c.destroy();
  herald.inAppMessages = [];
  const b = await started({ storage, clock, herald });
  const shown = [];
  b.c.subscribeToInAppMessage((m) => shown.push(m.id));
  b.c.logCustomEvent('go');
  assert.deepEqual(shown, ['ev:1']);
  b.c.destroy();
  await clock.advance(31 * MIN);
  const c3 = await started({ storage, clock, herald });
  const shown3 = [];
  c3.c.subscribeToInAppMessage((m) => shown3.push(m.id));
  c3.c.logCustomEvent('go');
  assert.deepEqual(shown3, []);
});

test('in-app and card engagement items', async () => {
  const { herald, clock, c } = await started();
  const m = iam('c1:3', { type: 'session_start' });
  c.logInAppMessageImpression(m);
  c.logInAppMessageClick(m);
  c.logInAppMessageButtonClick(m, 1);
  c.logInAppMessageDismissal(m);
  c.logCardImpression([{ id: 'card-1', dispatch_id: 'd1' }, { id: 'card-2' }]);
  c.logCardClick('card-1');
  c.logCardDismissal({ id: 'card-2' });
  await clock.advance(10_000);
  const items = herald.dataRequests().at(-1).body.items.map((i) => [i.type, i.data]);
  assert.deepEqual(items, [
    ['in_app_impression', { message_id: 'c1:3' }],
    ['in_app_click', { message_id: 'c1:3' }],
    ['in_app_button_click', { message_id: 'c1:3', button_id: '1' }],
    ['in_app_dismiss', { message_id: 'c1:3' }],
    ['card_impression', { card_id: 'card-1', dispatch_id: 'd1' }],
    ['card_impression', { card_id: 'card-2' }],
    ['card_click', { card_id: 'card-1' }],
    ['card_dismiss', { card_id: 'card-2' }],
  ]);
});

test('a push open handed over by the service worker keeps its id', async () => {
  const { herald, clock, c } = await started();
  c.onWorkerMessage({ herald: 'push_open', id: 'sw-open-1', at: clock.now() - 1000, message_id: 'm1', dispatch_id: 'd1' });
  c.onWorkerMessage({ herald: 'push_open', id: 'sw-open-1', at: clock.now() - 1000, message_id: 'm1', dispatch_id: 'd1' });
  await clock.advance(10_000);
  const opens = herald.itemsOfType('push_open');
  assert.equal(opens.length, 1);
  assert.deepEqual(opens[0].data, { herald_message_id: 'm1', herald_dispatch_id: 'd1' });
  assert.equal(opens[0].id, 'sw-open-1');
});

test('Content Cards: synced at session start, cached, merged incrementally, dismissals leave the feed', async () => {
  const herald = new FakeHerald();
  herald.cards = {
    full_sync: true, sync_token: 'tok-1', removed: [],
    cards: [
      { id: 'old', title: 'Old', created_at: '2026-11-01T00:00:00Z' },
      { id: 'pin', title: 'Pinned', pinned: true, created_at: '2026-10-01T00:00:00Z' },
      { id: 'new', title: 'New', created_at: '2026-11-20T00:00:00Z' },
    ],
  };
  const { c, clock } = await started({ herald });
  c.changeUser('user-1');
  await settle();
  const syncs = () => herald.requests.filter((r) => r.url.endsWith('/sdk/v1/content_cards/sync'));
  assert.equal(syncs().length, 1, 'synced after the session-start answer');
  assert.deepEqual(syncs()[0].body, { device_id: c.getDeviceId(), user_id: 'user-1' });
  const updates = [];
  c.subscribeToContentCardsUpdates((cards) => updates.push(cards.map((x) => x.id)));
  assert.deepEqual((await c.getContentCards()).map((x) => x.id), ['pin', 'new', 'old']);
  assert.equal(syncs().length, 1, 'within a minute: the cache');

  herald.cards = { full_sync: false, sync_token: 'tok-2', removed: ['old'], cards: [{ id: 'newest', title: 'N', created_at: '2026-11-28T00:00:00Z' }] };
  await clock.advance(61_000);
  assert.deepEqual((await c.getContentCards()).map((x) => x.id), ['pin', 'newest', 'new']);
  assert.equal(syncs().at(-1).body.sync_token, 'tok-1');
  assert.deepEqual(updates.at(-1), ['pin', 'newest', 'new']);

  c.logCardDismissal(c.getCachedContentCards()[1]);
  assert.deepEqual(updates.at(-1), ['pin', 'new']);
  assert.deepEqual(c.getCachedContentCards().map((x) => x.id), ['pin', 'new']);

  c.changeUser('user-2');
  assert.deepEqual(c.getCachedContentCards(), [], 'another user sees none of them');
});

test('Content Cards: a 429 waits its Retry-After', async () => {
  const herald = new FakeHerald();
  const { c, clock } = await started({ herald });
  c.changeUser('user-1');
  await settle();
  c.cards.fetch = async () => response(429, { message: 'slow down' }, { 'Retry-After': '120' });
  assert.equal(await c.requestContentCardsRefresh(), false);
  let called = false;
  c.cards.fetch = async () => {
    called = true;
    return response(200, { cards: [], removed: [], sync_token: 't', full_sync: true });
  };
  assert.equal(await c.requestContentCardsRefresh(), false);
  assert.equal(called, false);
  await clock.advance(120_000);
  assert.equal(await c.requestContentCardsRefresh(), true);
});

test('init validates its arguments and runs once', () => {
  const c = new HeraldClient(makeEnv().env);
  assert.throws(() => c.init(''), /SDK key/);
  assert.throws(() => c.init('k', {}), /baseUrl/);
  assert.equal(c.init('k', { baseUrl: 'http://x' }), true);
  assert.equal(c.init('k', { baseUrl: 'http://x' }), false);
});

test('a Content Cards sync refused for the token asks the app for a new one', async () => {
  const { c } = await started();
  c.changeUser('user-1', 'old');
  await settle();
  const failures = [];
  c.subscribeToSdkAuthenticationFailures((e) => failures.push(e));
  c.cards.fetch = async () => response(401, { message: 'X-Herald-Sdk-Auth: token expired: expired at …' });
  assert.equal(await c.requestContentCardsRefresh(), false);
  assert.equal(failures.length, 1);
  assert.equal(failures[0].userId, 'user-1');
  assert.match(failures[0].message, /token expired/);
});

test('a 401 for an unknown SDK key drops the batch; items past the replay window are dropped unsent', async () => {
  const { herald, clock, c } = await started();
  herald.mode = 401;
  c.logCustomEvent('e');
  await clock.advance(10_000);
  assert.equal(c.queue.length, 0, 'unknown SDK key: retrying cannot help');

  herald.mode = 'offline';
  c.logCustomEvent('old');
  await clock.advance(31 * 86400_000);
  herald.mode = 'up';
  c.logCustomEvent('new');
  await c.requestImmediateDataFlush();
  const names = herald.itemsOfType('custom_event').map((i) => i.data.name);
  assert.deepEqual(names, ['new']);
  assert.equal(c.queue.length, 0);
});
