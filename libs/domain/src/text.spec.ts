import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from './fingerprint.js';
import { clipUtf8 } from './text.js';

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

describe('clipUtf8', () => {
  it('keeps text within the bound as it is', () => {
    expect(clipUtf8('short', 10)).toBe('short');
    expect(clipUtf8('日本語', 9)).toBe('日本語');
  });

  it('cuts the middle of longer text, keeping head and tail and whole characters', () => {
    const text = `HEAD${'日本ü'.repeat(2000)}TAIL: assert 1 == 2`;
    const clipped = clipUtf8(text, 1024);
    expect(utf8Length(clipped)).toBeLessThanOrEqual(1024);
    expect(clipped.startsWith('HEAD')).toBe(true);
    expect(clipped.endsWith('TAIL: assert 1 == 2')).toBe(true);
    expect(clipped).toMatch(/… \[\d+ bytes cut\] …/);
    expect(clipped).not.toContain('\uFFFD');
  });
});

describe('fingerprint', () => {
  it('ignores the order of object keys and undefined fields', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }], c: undefined })).toBe('{"a":[{"x":1,"y":2}],"b":1}');
    expect(fingerprint({ os: 'Macos', python_version: '3.13.1' })).toBe(fingerprint({ python_version: '3.13.1', os: 'Macos' }));
  });

  it('differs for different content', () => {
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: 2 }));
    expect(fingerprint('日本')).not.toBe(fingerprint('日本 '));
    expect(fingerprint('a')).toMatch(/^[0-9a-f]{16}$/);
  });
});
