// Trigger matching for in-app messages: which of the messages received at
// session start a local happening (session start, custom event, purchase,
// push click) shows. Property filters follow the server's semantics exactly
// (campaigns/actions.go matchProperties): a missing property fails every
// comparison except does_not_exist and not_equal; numbers compare only with
// numbers; equals compares strings, numbers and booleans strictly; contains
// is a substring for strings and membership for arrays.

/**
 * A happening the SDK reports to the trigger matcher.
 * @typedef {{type: 'session_start'} |
 *   {type: 'custom_event', name: string, properties?: object} |
 *   {type: 'purchase', productId: string, properties?: object} |
 *   {type: 'push_click', campaignId?: string}} Happening
 */

/** Whether event properties pass every filter. */
export function matchProperties(filters, props) {
  const p = props && typeof props === 'object' ? props : {};
  for (const pf of filters || []) {
    const has = Object.prototype.hasOwnProperty.call(p, pf.property);
    const v = has ? p[pf.property] : undefined;
    const present = has && v !== null && v !== undefined;
    switch (pf.comparison) {
      case 'exists':
        if (!present) return false;
        continue;
      case 'does_not_exist':
        if (present) return false;
        continue;
      case 'not_equal':
        if (!present) continue; // a negation includes the missing value
        break;
      default:
    }
    if (!present || !compare(pf.comparison, v, pf.value)) return false;
  }
  return true;
}

function compare(op, got, want) {
  switch (op) {
    case 'equals':
      return equalValues(got, want);
    case 'not_equal':
      return !equalValues(got, want);
    case 'contains':
      if (typeof got === 'string') return typeof want === 'string' && got.includes(want);
      if (Array.isArray(got)) return got.some((e) => equalValues(e, want));
      return false;
    default:
  }
  if (typeof got !== 'number' || typeof want !== 'number') return false;
  switch (op) {
    case 'greater_than':
      return got > want;
    case 'greater_than_or_equal_to':
      return got >= want;
    case 'less_than':
      return got < want;
    case 'less_than_or_equal_to':
      return got <= want;
    default:
      return false; // an unknown comparison never matches
  }
}

function equalValues(a, b) {
  const t = typeof a;
  return (t === 'string' || t === 'number' || t === 'boolean') && a === b;
}

/** Whether a message's trigger fires on a happening. */
export function triggerMatches(trigger, h) {
  if (!trigger || !h || trigger.type !== h.type) return false;
  switch (h.type) {
    case 'session_start':
      return true;
    case 'custom_event':
      return trigger.event_name === h.name && matchProperties(trigger.property_filters, h.properties);
    case 'purchase':
      return (!trigger.product_id || trigger.product_id === h.productId) &&
        matchProperties(trigger.property_filters, h.properties);
    case 'push_click':
      return !trigger.campaign_id || trigger.campaign_id === h.campaignId;
    default:
      return false;
  }
}

/**
 * The message to show for a happening: the first matching one of a list the
 * server ordered by priority (highest first, then newest), or the highest
 * priority when the list was merged from several responses.
 */
export function pickMessage(messages, h) {
  let best = null;
  for (const m of messages || []) {
    if (!triggerMatches(m.trigger, h)) continue;
    if (best === null || (m.priority || 0) > (best.priority || 0)) best = m;
  }
  return best;
}
