// What the SDK takes from its surroundings, gathered in one object so tests
// can hand in stand-ins (fetch, storage, clock, timers, document).

/** Flush intervals by connection quality (navigator.connection.effectiveType). */
export const FLUSH_INTERVAL_MS = Object.freeze({ good: 10_000, fair: 30_000, poor: 60_000 });

/** The flush interval for a Network Information API connection (10 s when unknown). */
export function flushInterval(connection) {
  switch (connection && connection.effectiveType) {
    case '3g':
      return FLUSH_INTERVAL_MS.fair;
    case '2g':
    case 'slow-2g':
      return FLUSH_INTERVAL_MS.poor;
    default:
      return FLUSH_INTERVAL_MS.good;
  }
}

/** The browser's environment. */
export function browserEnv() {
  const g = globalThis;
  let storage = null;
  try {
    storage = g.localStorage || null;
  } catch {
    storage = null; // a sandboxed frame throws on access
  }
  return {
    fetch: g.fetch ? g.fetch.bind(g) : null,
    storage,
    now: () => Date.now(),
    setTimeout: g.setTimeout.bind(g),
    clearTimeout: g.clearTimeout.bind(g),
    window: typeof g.window !== 'undefined' ? g.window : null,
    document: typeof g.document !== 'undefined' ? g.document : null,
    navigator: typeof g.navigator !== 'undefined' ? g.navigator : null,
    crypto: g.crypto || null,
    console: g.console,
  };
}

/** A random RFC 4122 version 4 id. */
export function uuid(crypto) {
  if (crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  if (crypto && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Device information sent with every batch (the protocol's device object, less device_id). */
export function deviceInfo(env, appVersion) {
  const nav = env.navigator || {};
  const ua = nav.userAgent || '';
  const d = { os: osName(ua, nav), model: browserName(ua) };
  if (nav.language) d.locale = nav.language;
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) d.time_zone = tz;
  } catch {
    // no Intl time zone
  }
  if (appVersion) d.app_version = String(appVersion);
  return d;
}

function osName(ua, nav) {
  const p = (nav.userAgentData && nav.userAgentData.platform) || '';
  if (p) return p;
  if (/Android/i.test(ua)) return 'Android';
  if (/iPhone|iPad|iPod/i.test(ua)) return 'iOS';
  if (/Windows/i.test(ua)) return 'Windows';
  if (/Mac OS X|Macintosh/i.test(ua)) return 'macOS';
  if (/CrOS/i.test(ua)) return 'ChromeOS';
  if (/Linux/i.test(ua)) return 'Linux';
  return 'Unknown';
}

/** The browser and its major version, e.g. "Chrome 120": a web device's model. */
function browserName(ua) {
  for (const [re, name] of [[/Edg\/(\d+)/, 'Edge'], [/OPR\/(\d+)/, 'Opera'], [/Firefox\/(\d+)/, 'Firefox'],
    [/Chrom(?:e|ium)\/(\d+)/, 'Chrome'], [/Version\/(\d+).*Safari\//, 'Safari']]) {
    const m = ua.match(re);
    if (m) return `${name} ${m[1]}`;
  }
  return 'Unknown browser';
}
