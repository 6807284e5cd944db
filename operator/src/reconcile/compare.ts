/**
 * "Would applying this change anything?" — the comparison that makes a pass over an
 * unchanged cluster write nothing. The desired object must be contained in the live one:
 * every field we set has the same value (the API server adds defaults and status, which we
 * ignore), arrays have the same length and matching elements, resource quantities compare
 * by amount (`0.5` = `500m`), and an empty map or list we set equals an absent one.
 */
import { sameQuantity } from '../model/quantity.js';

const QUANTITY_PARENTS = new Set(['requests', 'limits', 'capacity']);
const QUANTITY = '\u0000quantity';

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return (
    v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isPlain(v) && Object.keys(v).length === 0)
  );
}

/** True when every field of `desired` is present with the same value in `actual`. */
export function contains(actual: unknown, desired: unknown, parentKey = ''): boolean {
  if (isEmpty(desired))
    return (
      isEmpty(actual) ||
      desired === actual ||
      (isPlain(desired) && isPlain(actual)) ||
      (Array.isArray(desired) && Array.isArray(actual) && actual.length === 0)
    );
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((d, i) => contains(actual[i], d, parentKey))
    );
  }
  if (isPlain(desired)) {
    if (!isPlain(actual)) return false;
    // Children of requests/limits/capacity are quantities: mark them so the leaf compares amounts.
    const childKey = (k: string): string => (QUANTITY_PARENTS.has(parentKey) ? QUANTITY : k);
    return Object.entries(desired).every(([k, v]) => contains(actual[k], v, childKey(k)));
  }
  if (
    parentKey === QUANTITY &&
    (typeof desired === 'string' || typeof desired === 'number') &&
    (typeof actual === 'string' || typeof actual === 'number')
  ) {
    return sameQuantity(actual, desired);
  }
  return actual === desired;
}

/**
 * Paths where `actual` differs from `desired` (for logs and Events: "why did we apply?").
 * Empty when {@link contains} holds.
 */
export function differences(actual: unknown, desired: unknown, path = '', parentKey = ''): string[] {
  if (contains(actual, desired, parentKey)) return [];
  if (isPlain(desired) && isPlain(actual)) {
    return Object.entries(desired).flatMap(([k, v]) =>
      differences(actual[k], v, path ? `${path}.${k}` : k, QUANTITY_PARENTS.has(parentKey) ? QUANTITY : k),
    );
  }
  if (Array.isArray(desired) && Array.isArray(actual) && actual.length === desired.length) {
    return desired.flatMap((d, i) => differences(actual[i], d, `${path}[${i}]`, parentKey));
  }
  return [path || '(root)'];
}
