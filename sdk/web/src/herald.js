// Herald web SDK. Import the functions of the page's one instance:
//
//   import * as herald from '/herald/src/herald.js';
//   herald.init('hsk_…', { baseUrl: 'https://herald.example.com' });
//   herald.changeUser('user-1');
//   herald.logCustomEvent('viewed_product', { sku: 'lamp-1' });
//
// or make instances of HeraldClient. See docs/web-sdk.md.

import { HeraldClient } from './client.js';

export { HeraldClient, SESSION_TIMEOUT_MS, DEFAULT_MIN_INTERVAL_S } from './client.js';
export { FLUSH_INTERVAL_MS } from './env.js';
export { SDK_VERSION } from './protocol.js';

let instance = null;

/** The page's instance (made on first use). */
export function getInstance() {
  if (!instance) instance = new HeraldClient();
  return instance;
}

const call = (name) => (...args) => getInstance()[name](...args);

export const init = call('init');
export const destroy = call('destroy');
export const changeUser = call('changeUser');
export const getUserId = call('getUserId');
export const getDeviceId = call('getDeviceId');
export const getSessionId = call('getSessionId');
export const setSdkAuthToken = call('setSdkAuthToken');
export const subscribeToSdkAuthenticationFailures = call('subscribeToSdkAuthenticationFailures');
export const setCustomAttribute = call('setCustomAttribute');
export const setAttributes = call('setAttributes');
export const logCustomEvent = call('logCustomEvent');
export const logPurchase = call('logPurchase');
export const requestImmediateDataFlush = call('requestImmediateDataFlush');
export const subscribeToInAppMessage = call('subscribeToInAppMessage');
export const showInAppMessage = call('showInAppMessage');
export const logInAppMessageImpression = call('logInAppMessageImpression');
export const logInAppMessageClick = call('logInAppMessageClick');
export const logInAppMessageButtonClick = call('logInAppMessageButtonClick');
export const logInAppMessageDismissal = call('logInAppMessageDismissal');
export const getContentCards = call('getContentCards');
export const getCachedContentCards = call('getCachedContentCards');
export const requestContentCardsRefresh = call('requestContentCardsRefresh');
export const subscribeToContentCardsUpdates = call('subscribeToContentCardsUpdates');
export const logCardImpression = call('logCardImpression');
export const logCardClick = call('logCardClick');
export const logCardDismissal = call('logCardDismissal');
export const isPushSupported = call('isPushSupported');
export const requestPushPermission = call('requestPushPermission');
