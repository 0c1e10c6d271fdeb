import { describe, expect, it } from 'vitest';
import { excerpt, EXCERPT_CHARS, formatDuration, jsonText, oneLine, parseDuration, printable, printableJson, quoted, quotedExcerpt, table } from './cli.js';

describe('cli helpers', () => {
  it('reads durations with a unit and refuses others, naming the flag', () => {
    expect([parseDuration('30s', '--since'), parseDuration('10m', '--since'), parseDuration('2h', '--since'), parseDuration('1d', '--since')]).toEqual([
      30_000, 600_000, 7_200_000, 86_400_000,
    ]);
    for (const bad of ['10', 'm', '1.5h', '-1m', '10 m']) expect(() => parseDuration(bad, '--since')).toThrow(/invalid --since/);
  });

  it('shows durations in whole units, never negative', () => {
    expect([-5, 59_999, 60_000, 3_599_999, 3_600_000, 86_400_000 * 3].map(formatDuration)).toEqual(['0s', '59s', '1m', '59m', '1h', '3d']);
  });

  it('quotes caller text in messages clipped: printable, and at most EXCERPT_CHARS of it', () => {
    expect(excerpt('short')).toBe('short');
    expect(excerpt('x'.repeat(EXCERPT_CHARS))).toBe('x'.repeat(EXCERPT_CHARS));
    expect(excerpt('x'.repeat(5_000_000))).toBe(`${'x'.repeat(EXCERPT_CHARS - 1)}…`);
    expect(quotedExcerpt(`a"b\n${'x'.repeat(5_000_000)}`)).toBe(`"a\\"b\\n${'x'.repeat(EXCERPT_CHARS - 5)}…"`);
  });

  it('puts a multi-line message on one line', () => {
    expect(oneLine('keys.json: invalid:\n  keys[0].agent: bad\n  keys[1].grant: bad')).toBe('keys.json: invalid: keys[0].agent: bad; keys[1].grant: bad');
  });

  it('pads every column but the last', () => {
    expect(
      table([
        ['ID', 'TOOL', 'ARGS'],
        ['a', 'record_session_start', '{}'],
      ]),
    ).toEqual(['ID  TOOL                  ARGS', 'a   record_session_start  {}']);
  });

  it('escapes what could end a row or steer the terminal, and the backslash, so every text shows as one unambiguous line', () => {
    expect(printable('record_x\n2026-01-01T00:00:00Z  allowed')).toBe('record_x\\n2026-01-01T00:00:00Z  allowed');
    expect(printable('\u001b[31mred\u001b[0m\r\t')).toBe('\\u001b[31mred\\u001b[0m\\r\\t');
    expect(printable('a\u009b2Jb\u202egnp.exe\u2028\u200b\u007f')).toBe('a\\u009b2Jb\\u202egnp.exe\\u2028\\u200b\\u007f');
    expect(printable('literal \\n')).toBe('literal \\\\n');
    expect(printable('record_test_outcome é ✓')).toBe('record_test_outcome é ✓');
    expect(quoted('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
  });

  it('keeps JSON text valid JSON of the same value while escaping what JSON leaves raw', () => {
    const value = { nodeid: 'a\u009bb\u2028c\u{e0001}', n: 'x\ny' };
    const shown = printableJson(JSON.stringify(value));
    expect(shown).toBe('{"nodeid":"a\\u009bb\\u2028c\\udb40\\udc01","n":"x\\ny"}');
    expect(JSON.parse(shown)).toEqual(value);
    expect(printableJson('{"a":"raw\nline"}')).toBe('{"a":"raw\\nline"}');
  });

  it('writes indented JSON whose line breaks are its own, escaping in strings what JSON leaves raw', () => {
    const value = [{ tool: 'x\u009b\u202e', n: 'a\nb' }];
    const shown = jsonText(value, 2);
    expect(shown).toBe('[\n  {\n    "tool": "x\\u009b\\u202e",\n    "n": "a\\nb"\n  }\n]');
    expect(JSON.parse(shown)).toEqual(value);
  });
});
