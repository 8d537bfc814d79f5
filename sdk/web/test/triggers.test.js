import assert from 'node:assert/strict';
import { test } from 'node:test';

import { matchProperties, pickMessage, triggerMatches } from '../src/triggers.js';

// The same table as campaigns/actions_test.go (TestMatchProperties), so the
// SDK and the server agree on what a property filter matches.
test('property filters match as the server does', () => {
  const props = { price: 20, gift: true, name: 'Red lamp', tags: ['home', 'light'] };
  const cases = [
    [[{ property: 'price', comparison: 'greater_than', value: 10 }], true],
    [[{ property: 'price', comparison: 'greater_than', value: 20 }], false],
    [[{ property: 'price', comparison: 'greater_than_or_equal_to', value: 20 }, { property: 'gift', comparison: 'equals', value: true }], true],
    [[{ property: 'price', comparison: 'less_than', value: '30' }], false],
    [[{ property: 'name', comparison: 'contains', value: 'lamp' }], true],
    [[{ property: 'tags', comparison: 'contains', value: 'light' }], true],
    [[{ property: 'name', comparison: 'not_equal', value: 'Blue lamp' }], true],
    [[{ property: 'name', comparison: 'not_equal', value: 'Red lamp' }], false],
    [[{ property: 'missing', comparison: 'does_not_exist' }], true],
    [[{ property: 'missing', comparison: 'exists' }], false],
    [[{ property: 'missing', comparison: 'equals', value: 1 }], false],
    [[{ property: 'missing', comparison: 'not_equal', value: 1 }], true],
    [[{ property: 'price', comparison: 'less_than_or_equal_to', value: 20 }], true],
    [[{ property: 'price', comparison: 'less_than', value: 20 }], false],
    [[{ property: 'price', comparison: 'equals', value: '20' }], false], // no coercion
    [[{ property: 'gift', comparison: 'exists' }], true],
    [[{ property: 'price', comparison: 'matches_regex', value: '.*' }], false], // unknown comparison
    [[], true],
  ];
  for (const [filters, want] of cases) {
    assert.equal(matchProperties(filters, props), want, JSON.stringify(filters));
  }
  assert.equal(matchProperties([{ property: 'x', comparison: 'exists' }], { x: null }), false, 'null is missing');
  assert.equal(matchProperties([{ property: 'x', comparison: 'does_not_exist' }], undefined), true);
});

test('triggers match their happening', () => {
  const custom = { type: 'custom_event', event_name: 'add_to_cart', property_filters: [{ property: 'price', comparison: 'greater_than', value: 50 }] };
  assert.equal(triggerMatches(custom, { type: 'custom_event', name: 'add_to_cart', properties: { price: 60 } }), true);
  assert.equal(triggerMatches(custom, { type: 'custom_event', name: 'add_to_cart', properties: { price: 40 } }), false);
  assert.equal(triggerMatches(custom, { type: 'custom_event', name: 'other', properties: { price: 60 } }), false);
  assert.equal(triggerMatches(custom, { type: 'purchase', productId: 'add_to_cart' }), false);

  assert.equal(triggerMatches({ type: 'session_start' }, { type: 'session_start' }), true);
  assert.equal(triggerMatches({ type: 'purchase' }, { type: 'purchase', productId: 'sku-1' }), true, 'any purchase');
  assert.equal(triggerMatches({ type: 'purchase', product_id: 'sku-1' }, { type: 'purchase', productId: 'sku-1' }), true);
  assert.equal(triggerMatches({ type: 'purchase', product_id: 'sku-1' }, { type: 'purchase', productId: 'sku-2' }), false);
  assert.equal(triggerMatches({ type: 'push_click' }, { type: 'push_click' }), true, 'any push');
  assert.equal(triggerMatches({ type: 'push_click', campaign_id: 'c1' }, { type: 'push_click', campaignId: 'c1' }), true);
  assert.equal(triggerMatches({ type: 'push_click', campaign_id: 'c1' }, { type: 'push_click' }), false);
  assert.equal(triggerMatches(undefined, { type: 'session_start' }), false);
});

test('the highest priority matching message is picked, the first on a tie', () => {
  const msgs = [
    { id: 'a', priority: 10, trigger: { type: 'custom_event', event_name: 'e' } },
    { id: 'b', priority: 50, trigger: { type: 'custom_event', event_name: 'e' } },
    { id: 'c', priority: 50, trigger: { type: 'custom_event', event_name: 'e' } },
    { id: 'd', priority: 90, trigger: { type: 'session_start' } },
  ];
  assert.equal(pickMessage(msgs, { type: 'custom_event', name: 'e' }).id, 'b');
  assert.equal(pickMessage(msgs, { type: 'session_start' }).id, 'd');
  assert.equal(pickMessage(msgs, { type: 'custom_event', name: 'x' }), null);
  assert.equal(pickMessage([], { type: 'session_start' }), null);
});
