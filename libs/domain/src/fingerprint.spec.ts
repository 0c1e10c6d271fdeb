import { describe, expect, it } from 'vitest';
import { canonicalJson, fieldsFingerprint, fingerprint } from './fingerprint.js';

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

describe('fieldsFingerprint', () => {
  it('tells a missing field from an empty one, and fields apart from each other', () => {
    expect(fieldsFingerprint(['a', undefined])).not.toBe(fieldsFingerprint(['a', '']));
    expect(fieldsFingerprint(['ab', 'c'])).not.toBe(fieldsFingerprint(['a', 'bc']));
    expect(fieldsFingerprint(['passed', 0.5])).toBe(fieldsFingerprint(['passed', 0.5]));
  });
});
