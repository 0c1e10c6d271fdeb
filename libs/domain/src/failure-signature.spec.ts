import { describe, expect, it } from 'vitest';
import { failureSignature, groupFailures } from './failure-signature.js';

const longrepr = (line: number, a: number, b: number) =>
  `tests/test_pay.py:${line}: in test_total\n    assert total(cart) == ${b}\nE   AssertionError: assert ${a} == ${b}\n\ntests/test_pay.py:${line}: AssertionError`;

describe('failureSignature', () => {
  it('is one signature for failures of one cause, whatever numbers and lines they met', () => {
    const first = failureSignature('AssertionError: assert 3 == 4', longrepr(12, 3, 4));
    expect(first).toBe('AssertionError: assert <N> == <N> at tests/test_pay.py in test_total');
    expect(failureSignature('AssertionError: assert 1017 == -2.5', longrepr(40, 1017, -2.5))).toBe(first);
  });

  it('tells causes apart by exception type, message and innermost frame', () => {
    const base = failureSignature('ValueError: bad cart', longrepr(3, 1, 2));
    expect(failureSignature('KeyError: bad cart', longrepr(3, 1, 2))).not.toBe(base);
    expect(failureSignature('ValueError: empty cart', longrepr(3, 1, 2))).not.toBe(base);
    expect(failureSignature('ValueError: bad cart', longrepr(3, 1, 2).replaceAll('test_pay.py', 'test_cart.py'))).not.toBe(base);
  });

  it('masks paths, addresses, hex and ids in the message', () => {
    expect(failureSignature('OSError: cannot open /tmp/run-8812/data.json at 0x7f3a2c00 for 1f0e4d8c9b7a6e5d', undefined)).toBe(
      'OSError: cannot open <PATH> at <HEX> for <HEX>',
    );
    expect(failureSignature('RuntimeError: session 3f2b1c4e-9a8d-4c7b-b6a5-1234567890ab gone', undefined)).toBe('RuntimeError: session <ID> gone');
  });

  it('reads the exception from the long report when there is no message', () => {
    expect(failureSignature(undefined, longrepr(7, 1, 2))).toBe('AssertionError: assert <N> == <N> at tests/test_pay.py in test_total');
    expect(failureSignature(undefined, 'def test_x():\n>       raise Boom(3)\nE       Boom: 3\n\ntests/test_x.py:2: Boom')).toBe(
      'Boom: <N> at tests/test_x.py',
    );
    expect(failureSignature(undefined, undefined)).toBe('failed without an error message');
  });

  it('is bounded', () => {
    expect(failureSignature(`ValueError: ${'x'.repeat(5000)}`, undefined).length).toBeLessThanOrEqual(500);
  });
});

describe('groupFailures', () => {
  it('groups by signature, largest first, with distinct examples and first/last seen', () => {
    const groups = groupFailures([
      { signature: 'A', nodeid: 't1', at: '2026-01-02T00:00:00.000Z', error: 'a1' },
      { signature: 'B', nodeid: 't2', at: '2026-01-01T00:00:00.000Z', error: null },
      { signature: 'A', nodeid: 't1', at: '2026-01-03T00:00:00.000Z', error: 'a2' },
      { signature: 'A', nodeid: 't3', at: '2026-01-01T00:00:00.000Z', error: 'a3' },
    ]);
    expect(groups).toEqual([
      { signature: 'A', count: 3, nodeids: ['t1', 't3'], example_error: 'a1', first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-03T00:00:00.000Z' },
      { signature: 'B', count: 1, nodeids: ['t2'], example_error: null, first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-01T00:00:00.000Z' },
    ]);
  });
});
