/**
 * A stable digest of a JSON value: equal for equal content whatever the order of object keys.
 * It tells a retried call (same content) from a conflicting one (same key, other content).
 */
export function fingerprint(value: unknown): string {
  return fnv1a64(canonicalJson(value));
}

/**
 * The same kind of digest over a fixed list of fields, for hot paths: no key sorting. A missing
 * field and an empty string differ.
 */
export function fieldsFingerprint(fields: ReadonlyArray<string | number | undefined>): string {
  return fnv1a64(fields.map((f) => (f === undefined ? '\u0001' : String(f))).join('\u0000'));
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** FNV-1a, 64 bits, computed as two 32-bit halves to stay in fast integer arithmetic. */
function fnv1a64(text: string): string {
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2; // offset basis 0xcbf29ce484222325, 16 bits each
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    // multiply by the prime 0x100000001b3 = 2^40 + 0x1b3, 16 bits at a time
    const t0 = h0 * 0x1b3, t1 = h1 * 0x1b3, t2 = h2 * 0x1b3, t3 = h3 * 0x1b3;
    const c1 = t1 + (t0 >>> 16);
    const c2 = t2 + (c1 >>> 16) + ((h0 << 8) & 0xffff);
    const c3 = t3 + (c2 >>> 16) + ((h1 << 8) | (h0 >>> 8));
    h0 = t0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = c3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((h) => h.toString(16).padStart(4, '0')).join('');
}
