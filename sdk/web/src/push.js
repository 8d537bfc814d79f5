// Web Push on the page side: the permission prompt, the service worker's
// registration, the subscription with the app's VAPID public key, and the
// configuration the service worker needs to report opens by itself.

/** Whether this browser can take Web Push. */
export function pushSupported(env) {
  const w = env.window;
  const n = env.navigator;
  return !!(w && n && 'serviceWorker' in n && 'PushManager' in w && 'Notification' in w);
}

/** The bytes of a base64url string (a VAPID public key). */
export function base64UrlToBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sameKey(a, b) {
  if (!a || !b) return false;
  const x = new Uint8Array(a);
  if (x.length !== b.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== b[i]) return false;
  return true;
}

/**
 * Registers the service worker and returns the push subscription for the
 * VAPID key (an existing one for another key is replaced).
 * @returns {Promise<{subscription: object, registration: ServiceWorkerRegistration}>}
 */
export async function subscribe(env, { vapidPublicKey, serviceWorkerUrl, scope }) {
  const sw = env.navigator.serviceWorker;
  await sw.register(serviceWorkerUrl, scope ? { scope } : undefined);
  const reg = await sw.ready;
  const key = base64UrlToBytes(vapidPublicKey);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub.options && sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  return { subscription: sub.toJSON(), registration: reg };
}

/** The current subscription, if the worker is registered and push is granted; null otherwise. */
export async function currentSubscription(env, scope) {
  if (!pushSupported(env) || env.window.Notification.permission !== 'granted') return null;
  const reg = await env.navigator.serviceWorker.getRegistration(scope);
  if (!reg) return null;
  const sub = await reg.pushManager.getSubscription();
  return sub ? { subscription: sub.toJSON(), registration: reg } : null;
}

/** Hands the service worker what it needs to report a push_open itself. */
export function configureWorker(reg, config) {
  const w = reg && (reg.active || reg.waiting || reg.installing);
  if (w) w.postMessage({ herald: 'config', config });
}
