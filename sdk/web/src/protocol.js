// The wire format of Herald's SDK endpoints (docs/sdk-protocol.md,
// docs/content-cards.md): every request body and item the SDK sends is
// built here, and every answer is read here.

export const SDK_VERSION = 'web/0.1.0';

export const DATA_PATH = '/sdk/v1/data';
export const CARDS_SYNC_PATH = '/sdk/v1/content_cards/sync';
export const API_KEY_HEADER = 'X-Herald-Api-Key';
export const SDK_AUTH_HEADER = 'X-Herald-Sdk-Auth';

/** The most items one /sdk/v1/data request may carry. */
export const MAX_ITEMS = 100;

/** Items older than this are refused (the server's replay window), until config.max_item_age_s says otherwise. */
export const MAX_ITEM_AGE_S = 30 * 86400;

/** Item types of a /sdk/v1/data batch. */
export const ItemType = Object.freeze({
  SESSION_START: 'session_start',
  SESSION_END: 'session_end',
  CUSTOM_EVENT: 'custom_event',
  PURCHASE: 'purchase',
  ATTRIBUTES: 'attributes',
  PUSH_TOKEN: 'push_token',
  IN_APP_IMPRESSION: 'in_app_impression',
  IN_APP_CLICK: 'in_app_click',
  IN_APP_BUTTON_CLICK: 'in_app_button_click',
  IN_APP_DISMISS: 'in_app_dismiss',
  CARD_IMPRESSION: 'card_impression',
  CARD_CLICK: 'card_click',
  CARD_DISMISS: 'card_dismiss',
  PUSH_OPEN: 'push_open',
});

/** Device fields the server accepts, with their maximum lengths. */
const DEVICE_FIELDS = { device_id: 128, os: 64, model: 128, locale: 35, time_zone: 64, app_version: 64, sdk_version: 64 };

/** The device object: known fields only, trimmed to their limits, control characters removed. */
export function deviceObject(d) {
  const out = {};
  for (const [k, limit] of Object.entries(DEVICE_FIELDS)) {
    const v = d[k];
    // eslint-disable-next-line no-control-regex
    if (typeof v === 'string' && v !== '') out[k] = Array.from(v.replace(/[\u0000-\u001f\u007f]/g, '')).slice(0, limit).join('');
  }
  return out;
}

/** The time an item is stamped with: ISO 8601 in UTC, millisecond precision. */
export function wireTime(ms) {
  return new Date(ms).toISOString();
}

/** An item: the envelope is id, type, time and data; the queue keeps id and time through every retry. */
export function item(type, id, atMs, data) {
  const it = { id, type, time: wireTime(atMs) };
  if (data && Object.keys(data).length > 0) it.data = data;
  return it;
}

export const sessionStartData = (sessionId) => ({ session_id: sessionId });

export const sessionEndData = (sessionId, durationMs) => ({
  session_id: sessionId,
  duration_s: Math.max(0, Math.round(durationMs / 1000)),
});

export function customEventData(name, properties) {
  const d = { name };
  if (properties && Object.keys(properties).length > 0) d.properties = properties;
  return d;
}

export function purchaseData(productId, price, currency, quantity, properties) {
  const d = { product_id: productId, price, currency, quantity };
  if (properties && Object.keys(properties).length > 0) d.properties = properties;
  return d;
}

/** Attributes go as the item's data, as /users/track takes them (standard and custom names, operations). */
export const attributesData = (attributes) => ({ ...attributes });

/** A Web Push subscription (PushSubscription.toJSON()) registered as the device's push token. */
export const pushTokenData = (subscription, pushEnabled) => ({ token: subscription, push_enabled: pushEnabled });

export function inAppData(messageId, buttonId) {
  const d = { message_id: messageId };
  if (buttonId !== undefined && buttonId !== null) d.button_id = String(buttonId);
  return d;
}

export function cardData(cardId, dispatchId) {
  const d = { card_id: cardId };
  if (dispatchId) d.dispatch_id = dispatchId;
  return d;
}

export const pushOpenData = (messageId, dispatchId) => ({ herald_message_id: messageId, herald_dispatch_id: dispatchId });

/** The body of a /sdk/v1/data request: one user's batch ("" or null user: the device's anonymous user). */
export function dataRequest({ device, userId, items }) {
  return { device: deviceObject(device), user_id: userId || null, items };
}

/**
 * What the SDK reads from a /sdk/v1/data answer: config.min_in_app_interval_s,
 * config.max_items and config.max_item_age_s, in_app_messages (at session
 * start) and errors (the items refused, each with its id).
 */
export function readDataResponse(json) {
  const out = { minIntervalS: null, maxItems: null, maxItemAgeS: null, inAppMessages: null, errors: [] };
  if (!json || typeof json !== 'object') return out;
  const cfg = json.config;
  if (cfg && typeof cfg === 'object') {
    if (typeof cfg.min_in_app_interval_s === 'number' && cfg.min_in_app_interval_s >= 0) out.minIntervalS = cfg.min_in_app_interval_s;
    if (Number.isInteger(cfg.max_items) && cfg.max_items > 0) out.maxItems = cfg.max_items;
    if (typeof cfg.max_item_age_s === 'number' && cfg.max_item_age_s > 0) out.maxItemAgeS = cfg.max_item_age_s;
  }
  if (Array.isArray(json.in_app_messages)) out.inAppMessages = json.in_app_messages;
  if (Array.isArray(json.errors)) out.errors = json.errors;
  return out;
}

/** The body of a Content Cards sync. */
export function cardsSyncRequest({ deviceId, userId, syncToken }) {
  const body = { device_id: deviceId, user_id: userId || null };
  if (syncToken) body.sync_token = syncToken;
  return body;
}

/** What the SDK reads from a Content Cards sync answer: cards, removed (ids), sync_token, full_sync. */
export function readCardsResponse(json) {
  const out = { cards: [], removed: [], syncToken: null, full: true };
  if (!json || typeof json !== 'object') return out;
  if (Array.isArray(json.cards)) out.cards = json.cards;
  if (Array.isArray(json.removed)) out.removed = json.removed;
  if (typeof json.sync_token === 'string') out.syncToken = json.sync_token;
  if (json.full_sync === false) out.full = false;
  return out;
}
