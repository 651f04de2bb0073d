import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JSON Canonicalization Scheme): sorted keys, no white space, ECMAScript number
 * formatting, minimal string escapes. Two implementations that follow the RFC produce the
 * same bytes for the same value, which is what signatures are computed over.
 * Throws TypeError for what JCS cannot represent (NaN, Infinity, lone surrogates, undefined).
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new TypeError(`value has no canonical JSON form: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

/**
 * True when `text` is exactly the RFC 8785 form of `parsed`, the value JSON.parse made of it.
 *
 * The hot path of every received envelope, so it avoids re-serialising with canonicalJson:
 * for values that came out of JSON.parse, JCS and JSON.stringify differ only in key order
 * (JCS sorts by UTF-16 code units, JSON.stringify keeps insertion order) and in lone
 * surrogates (JCS refuses them). So when every object's keys are already in strictly
 * ascending order and every string is well formed, the native JSON.stringify IS the canonical
 * form, and comparing it with `text` decides. (A duplicate key cannot pass: JSON.parse keeps one
 * of them, so the serialised form is shorter than the text.) Objects whose keys do not enumerate
 * in ascending order, because they are out of order in the text or are integer-like (JavaScript
 * enumerates those first), take the exact comparison with canonicalJson.
 */
export function isCanonicalJson(text: string, parsed: unknown): boolean {
  switch (inOrder(parsed)) {
    case Order.Sorted:
      return JSON.stringify(parsed) === text;
    case Order.Unrepresentable:
      return false;
    case Order.Unsorted:
      try {
        return canonicalJson(parsed) === text;
      } catch {
        return false;
      }
  }
}

const Order = { Sorted: 0, Unsorted: 1, Unrepresentable: 2 } as const;
type Order = (typeof Order)[keyof typeof Order];

function inOrder(value: unknown): Order {
  if (typeof value === 'string') return value.isWellFormed() ? Order.Sorted : Order.Unrepresentable;
  if (typeof value !== 'object' || value === null) return Order.Sorted;
  let order: Order = Order.Sorted;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const o = inOrder(value[i]);
      if (o === Order.Unrepresentable) return o;
      if (o === Order.Unsorted) order = o;
    }
    return order;
  }
  // for-in visits own keys in the order JSON.stringify writes them, without allocating a key
  // array. (Enumerable keys inherited from a tampered prototype come after them: at worst they
  // make the order look unsorted, which only sends the value down the exact path.)
  let previous: string | undefined;
  for (const key in value) {
    if (!key.isWellFormed()) return Order.Unrepresentable;
    if (previous !== undefined && !(previous < key)) order = Order.Unsorted;
    previous = key;
    const o = inOrder((value as Record<string, unknown>)[key]);
    if (o === Order.Unrepresentable) return o;
    if (o === Order.Unsorted) order = o;
  }
  return order;
}

export function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
