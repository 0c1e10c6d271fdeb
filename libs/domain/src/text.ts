const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Keeps `text` within `maxBytes` of UTF-8. Longer text keeps its head and its tail (where a
 * traceback's assertion is) around a marker saying how much was cut; characters are never split.
 */
export function clipUtf8(text: string, maxBytes: number): string {
  // A UTF-16 unit never takes more than 3 UTF-8 bytes, so short text needs no encoding at all.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  const marker = (cut: number) => `\n… [${cut} bytes cut] …\n`;
  const budget = maxBytes - encoder.encode(marker(bytes.length)).length;
  const headEnd = charBoundary(bytes, Math.floor(budget / 4));
  const tailStart = charBoundary(bytes, bytes.length - (budget - headEnd));
  return decoder.decode(bytes.subarray(0, headEnd)) + marker(tailStart - headEnd) + decoder.decode(bytes.subarray(tailStart));
}

/** Moves `index` forward to the start of a UTF-8 character (continuation bytes are 10xxxxxx). */
function charBoundary(bytes: Uint8Array, index: number): number {
  let i = Math.max(0, Math.min(index, bytes.length));
  while (i < bytes.length && (bytes[i]! & 0xc0) === 0x80) i++;
  return i;
}

/** Bytes of `text` in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    // A surrogate pair is 2 UTF-16 units and 4 bytes; any other unit from U+0800 up is 3 bytes.
    else if (code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
