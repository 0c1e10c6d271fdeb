import { createHash } from 'node:crypto';

/**
 * A digest of a JSON value's content, equal for equal content whatever the order of object keys:
 * it tells a retried call (same content) from a conflicting one (same key, other content). SHA-256
 * over an unambiguous encoding, so two different contents never pass for one.
 */
export function fingerprint(value: unknown): string {
  return digest(canonicalJson(value));
}

/**
 * The same over a fixed list of fields, for hot paths: no key sorting. The list is encoded as a
 * JSON array, so every field's boundaries and absence (null) are unambiguous.
 */
export function fieldsFingerprint(fields: ReadonlyArray<string | number | null | undefined>): string {
  return digest(JSON.stringify(fields.map((field) => field ?? null)));
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * JSON with object keys sorted and undefined members left out. It walks the value with its own
 * stack, so no nesting in caller data can exhaust the call stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work items: a value to encode, or a literal piece of text (brackets, commas, keys).
  const work: ({ value: unknown } | string)[] = [{ value }];
  while (work.length > 0) {
    const item = work.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const current = item.value;
    if (current === null || typeof current !== 'object') {
      out.push(JSON.stringify(current) ?? 'null');
      continue;
    }
    const parts: ({ value: unknown } | string)[] = [];
    if (Array.isArray(current)) {
      parts.push('[');
      current.forEach((child, index) => parts.push(...(index > 0 ? [','] : []), { value: child }));
      parts.push(']');
    } else {
      const entries = Object.entries(current as Record<string, unknown>)
        .filter(([, child]) => child !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      parts.push('{');
      entries.forEach(([key, child], index) => parts.push(`${index > 0 ? ',' : ''}${JSON.stringify(key)}:`, { value: child }));
      parts.push('}');
    }
    for (let i = parts.length - 1; i >= 0; i--) work.push(parts[i]!);
  }
  return out.join('');
}
