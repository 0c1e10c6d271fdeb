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
    expect(fingerprint('a')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('encodes any nesting without recursing once per level', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = { a: [deep] };
    expect(fingerprint(deep)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(canonicalJson([[1, [2]], { b: { d: 1, c: [] } }])).toBe('[[1,[2]],{"b":{"c":[],"d":1}}]');
  });
});

describe('fieldsFingerprint', () => {
  it('tells a missing field from an empty one, and fields apart from each other', () => {
    expect(fieldsFingerprint(['a', undefined])).not.toBe(fieldsFingerprint(['a', '']));
    expect(fieldsFingerprint(['ab', 'c'])).not.toBe(fieldsFingerprint(['a', 'bc']));
    expect(fieldsFingerprint(['passed', 0.5])).toBe(fieldsFingerprint(['passed', 0.5]));
  });

  it('never takes content with separators in it for other fields (the retries once taken as duplicates)', () => {
    expect(fieldsFingerprint(['failed', 1, '\u0001', undefined])).not.toBe(fieldsFingerprint(['failed', 1, undefined, undefined]));
    expect(fieldsFingerprint(['failed', 1, 'A', 'B\u0000\u0001'])).not.toBe(fieldsFingerprint(['failed', 1, 'A\u0000B', '\u0001']));
    expect(fieldsFingerprint([null, 'x'])).toBe(fieldsFingerprint([undefined, 'x']));
    expect(fieldsFingerprint(['null'])).not.toBe(fieldsFingerprint([null]));
  });
});
