// In-app message display: slideup, modal and full messages as DOM built with
// textContent (no markup from the message is ever parsed into the page), and
// html messages in an iframe sandboxed with "allow-scripts" only — no
// same-origin, so the message's code reaches neither the page, its storage
// nor its cookies. The html talks to the SDK through postMessage via the
// injected `heraldBridge` (closeMessage, logClick, logButtonClick, openUri).

const STYLE_ID = 'herald-iam-style';

const CSS = `
.herald-iam{position:fixed;z-index:2147483000;font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d1d1f;box-sizing:border-box}
.herald-iam *{box-sizing:border-box}
.herald-iam-overlay{position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147482999}
.herald-iam-slideup{left:50%;bottom:16px;transform:translateX(-50%);width:min(480px,calc(100% - 32px));background:#fff;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.25);padding:12px 40px 12px 14px;display:flex;gap:12px;align-items:center;cursor:pointer}
.herald-iam-slideup img{width:44px;height:44px;object-fit:cover;border-radius:6px}
.herald-iam-modal{left:50%;top:50%;transform:translate(-50%,-50%);width:min(420px,calc(100% - 32px));max-height:calc(100% - 32px);overflow:auto;background:#fff;border-radius:12px;box-shadow:0 10px 40px rgba(0,0,0,.3);padding:24px;text-align:center}
.herald-iam-full{inset:0;background:#fff;padding:32px 24px;overflow:auto;text-align:center;display:flex;flex-direction:column;justify-content:center}
.herald-iam-modal img,.herald-iam-full img{max-width:100%;max-height:40vh;border-radius:8px;margin-bottom:12px}
.herald-iam-header{font-weight:600;font-size:19px;margin:0 0 8px}
.herald-iam-message{margin:0 0 16px;white-space:pre-wrap}
.herald-iam-slideup .herald-iam-message{margin:0}
.herald-iam-buttons{display:flex;gap:8px;justify-content:center}
.herald-iam-buttons button{flex:1;max-width:200px;padding:10px 14px;border:0;border-radius:8px;background:#1b6ef3;color:#fff;font:inherit;cursor:pointer}
.herald-iam-buttons button+button{background:#e8e8ed;color:#1d1d1f}
.herald-iam-close{position:absolute;top:6px;right:8px;border:0;background:none;font-size:22px;line-height:1;cursor:pointer;color:#6e6e73}
.herald-iam-html{inset:0;width:100%;height:100%;border:0;background:transparent}
`;

/** Whether a URI may be opened from a message: http(s), mailto and tel only (never javascript:). */
export function safeUri(uri, base) {
  if (typeof uri !== 'string' || uri.trim() === '') return null;
  try {
    const u = new URL(uri, base);
    return ['http:', 'https:', 'mailto:', 'tel:'].includes(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

/** The bridge script put before an html message's markup. */
export const BRIDGE_SCRIPT = `<script>(function(){var p=function(m){parent.postMessage(Object.assign({herald:1},m),"*")};
window.heraldBridge={closeMessage:function(){p({action:"close"})},logClick:function(buttonId){p({action:"click",button_id:buttonId==null?null:String(buttonId)})},
logButtonClick:function(buttonId){p({action:"click",button_id:String(buttonId)})},openUri:function(uri){p({action:"open",uri:String(uri)})}};})();</script>`;

function el(doc, tag, cls, text) {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null && text !== '') e.textContent = String(text);
  return e;
}

function ensureStyle(doc) {
  if (doc.getElementById(STYLE_ID)) return;
  const s = doc.createElement('style');
  s.id = STYLE_ID;
  s.textContent = CSS;
  (doc.head || doc.documentElement).appendChild(s);
}

/**
 * Shows a message and returns a handle with close(). Callbacks:
 * onClick() (the body was clicked), onButton(button, index), onClose(userDismissed),
 * open(uri) (navigate).
 * @param {Document} doc
 * @param {object} msg an in-app message object
 * @param {{onClick: Function, onButton: Function, onClose: Function, open: Function, win?: Window, slideupMs?: number}} cb
 */
export function renderInAppMessage(doc, msg, cb) {
  ensureStyle(doc);
  const nodes = [];
  let closed = false;
  let timer = null;
  const win = cb.win || doc.defaultView;
  const onMessage = (e) => handleBridge(e);
  const close = (userDismissed) => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    if (win) win.removeEventListener('message', onMessage);
    for (const n of nodes) n.remove();
    cb.onClose(userDismissed);
  };
  const act = (action) => {
    const a = action || { type: 'close' };
    if (a.type === 'uri') {
      const uri = safeUri(a.uri, doc.baseURI);
      close(false);
      if (uri) cb.open(uri);
    } else if (a.type === 'close') {
      close(false);
    }
  };

  const type = msg.type;
  const root = el(doc, 'div', `herald-iam herald-iam-${type}`);
  root.setAttribute('role', type === 'slideup' ? 'status' : 'dialog');
  root.dataset.heraldIam = msg.id || '';
  root.dataset.heraldType = type;

  if (type === 'html') {
    const frame = el(doc, 'iframe', 'herald-iam herald-iam-html');
    frame.setAttribute('sandbox', 'allow-scripts');
    frame.setAttribute('title', msg.header || 'message');
    frame.dataset.heraldIam = msg.id || '';
    frame.dataset.heraldType = 'html';
    frame.srcdoc = BRIDGE_SCRIPT + (msg.html || '');
    nodes.push(frame);
    doc.body.appendChild(frame);
    if (win) win.addEventListener('message', onMessage);
    return { close: () => close(false), element: frame };
  }

  if (type === 'modal') {
    const overlay = el(doc, 'div', 'herald-iam-overlay');
    overlay.addEventListener('click', () => close(true));
    nodes.push(overlay);
    doc.body.appendChild(overlay);
  }
  const x = el(doc, 'button', 'herald-iam-close', '\u00d7');
  x.setAttribute('aria-label', 'Close');
  x.type = 'button';
  x.addEventListener('click', (e) => {
    e.stopPropagation();
    close(true);
  });
  root.appendChild(x);
  if (msg.image_url && safeUri(msg.image_url, doc.baseURI)) {
    const img = el(doc, 'img');
    img.src = safeUri(msg.image_url, doc.baseURI);
    img.alt = '';
    root.appendChild(img);
  }
  const body = el(doc, 'div', 'herald-iam-body');
  if (msg.header && type !== 'slideup') body.appendChild(el(doc, 'p', 'herald-iam-header', msg.header));
  if (msg.message) body.appendChild(el(doc, 'p', 'herald-iam-message', msg.message));
  root.appendChild(body);
  const buttons = Array.isArray(msg.buttons) ? msg.buttons.slice(0, 2) : [];
  if (buttons.length > 0 && type !== 'slideup') {
    const row = el(doc, 'div', 'herald-iam-buttons');
    buttons.forEach((b, i) => {
      const btn = el(doc, 'button', '', b.text);
      btn.type = 'button';
      btn.dataset.heraldButton = String(b.id ?? i);
      btn.addEventListener('click', (e) => {
        e.stopPropagation();
        cb.onButton(b, i);
        act(b.click_action);
      });
      row.appendChild(btn);
    });
    root.appendChild(row);
  }
  if (msg.click_action && msg.click_action.type !== 'none') {
    (type === 'slideup' ? root : body).addEventListener('click', () => {
      cb.onClick();
      act(msg.click_action);
    });
    body.style.cursor = 'pointer';
  }
  nodes.push(root);
  doc.body.appendChild(root);
  if (type === 'slideup' && cb.slideupMs !== 0) {
    timer = setTimeout(() => close(false), cb.slideupMs || 5000);
  }
  return { close: () => close(false), element: root };

  function handleBridge(e) {
    const frame = nodes[0];
    if (!frame || e.source !== frame.contentWindow) return;
    const d = e.data;
    if (!d || d.herald !== 1) return;
    if (d.action === 'close') close(true);
    else if (d.action === 'click') {
      if (d.button_id !== null && d.button_id !== undefined) cb.onButton({ id: d.button_id }, Number(d.button_id));
      else cb.onClick();
    } else if (d.action === 'open') {
      const uri = safeUri(d.uri, doc.baseURI);
      close(false);
      if (uri) cb.open(uri);
    }
  }
}
