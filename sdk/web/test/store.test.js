import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Queue, Store } from '../src/store.js';
import { MemoryStorage } from './helpers.js';

const entry = (id, user = null) => ({ id, user_id: user, item: { id, type: 'custom_event', time: '2026-11-29T12:00:00.000Z', data: { name: 'e' } } });

test('the queue persists in storage, namespaced, and survives a new Store', () => {
  const storage = new MemoryStorage();
  const q = new Queue(new Store(storage, 'herald.k1.'));
  q.add(entry('a'));
  q.add(entry('b'));
  assert.deepEqual(JSON.parse(storage.getItem('herald.k1.queue')).map((e) => e.id), ['a', 'b']);
  const again = new Queue(new Store(storage, 'herald.k1.'));
  assert.deepEqual(again.items().map((e) => e.id), ['a', 'b']);
  assert.equal(new Queue(new Store(storage, 'herald.k2.')).length, 0, 'another SDK key has its own queue');
});

test('a batch holds one user\'s oldest items; ack removes only those ids', () => {
  const q = new Queue(new Store(new MemoryStorage(), 'p.'));
  q.add(entry('a1'));
  q.add(entry('a2'));
  q.add(entry('u1', 'user-1'));
  q.add(entry('a3'));
  assert.deepEqual(q.next(10).map((e) => e.id), ['a1', 'a2', 'a3']);
  assert.deepEqual(q.next(2).map((e) => e.id), ['a1', 'a2']);
  q.ack(['a1', 'a2']);
  assert.deepEqual(q.next(10).map((e) => e.id), ['u1']);
  q.add(entry('u2', 'user-1'));
  q.ack(['u1']);
  assert.deepEqual(q.items().map((e) => e.id), ['a3', 'u2']);
});

test('past the cap the oldest items are dropped', () => {
  let dropped = 0;
  const q = new Queue(new Store(new MemoryStorage(), 'p.'), { max: 3, onDrop: (n) => (dropped += n) });
  for (const id of ['1', '2', '3', '4', '5']) q.add(entry(id));
  assert.deepEqual(q.items().map((e) => e.id), ['3', '4', '5']);
  assert.equal(dropped, 2);
});

test('a refusing or corrupt storage falls back to memory', () => {
  const refusing = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); }, removeItem: () => {} };
  const q = new Queue(new Store(refusing, 'p.'));
  q.add(entry('a'));
  assert.deepEqual(q.items().map((e) => e.id), ['a']);
  const corrupt = new MemoryStorage();
  corrupt.setItem('p.queue', '{not json');
  assert.equal(new Queue(new Store(corrupt, 'p.')).length, 0);
  const none = new Queue(new Store(null, 'p.'));
  none.add(entry('b'));
  assert.equal(none.length, 1);
});
