import { describe, expect, it } from 'vitest';
import { clipUtf8, utf8Length } from './text.js';

const encodedLength = (text: string) => new TextEncoder().encode(text).length;

describe('clipUtf8', () => {
  it('keeps text within the bound as it is', () => {
    expect(clipUtf8('short', 10)).toBe('short');
    expect(clipUtf8('日本語', 9)).toBe('日本語');
  });

  it('cuts the middle of longer text, keeping head and tail and whole characters', () => {
    const text = `HEAD${'日本ü'.repeat(2000)}TAIL: assert 1 == 2`;
    const clipped = clipUtf8(text, 1024);
    expect(encodedLength(clipped)).toBeLessThanOrEqual(1024);
    expect(clipped.startsWith('HEAD')).toBe(true);
    expect(clipped.endsWith('TAIL: assert 1 == 2')).toBe(true);
    expect(clipped).toMatch(/… \[\d+ bytes cut\] …/);
    expect(clipped).not.toContain('\uFFFD');
  });
});

describe('utf8Length', () => {
  it.each(['', 'ascii', 'ü', '日本語', '🙂 ok', 'x\u0001y', '\ud800 lone', '\ud800ü'])('counts %j as TextEncoder does', (text) => {
    expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
  });
});
