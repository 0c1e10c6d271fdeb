import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileLines, MAX_LINE_BYTES, type Line } from './file-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all(path: string): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const group of fileLines(path, { follow: false })) lines.push(...group);
  return lines;
}

describe('fileLines', () => {
  it('reads a whole file: numbered lines, CRLF or LF, the last with or without its line break', async () => {
    const path = join(dir, 'whole.txt');
    writeFileSync(path, 'a\r\nb\n\nlast é');
    expect(await all(path)).toEqual([
      { text: 'a', number: 1 },
      { text: 'b', number: 2 },
      { text: '', number: 3 },
      { text: 'last é', number: 4 },
    ]);
  });

  it('names a file that is not there or not UTF-8', async () => {
    await expect(all(join(dir, 'missing.txt'))).rejects.toThrow(/^cannot read .*missing\.txt: ENOENT/);
    const path = join(dir, 'latin1.txt');
    writeFileSync(path, Buffer.from([0x6f, 0x6b, 0x0a, 0xe9, 0x0a]));
    await expect(all(path)).rejects.toThrow(/latin1\.txt: line 2: not UTF-8 text$/);
  });

  it('takes off a BOM at the start of the file only', async () => {
    const path = join(dir, 'bom.txt');
    writeFileSync(path, '\uFEFFone\n\uFEFFtwo');
    expect(await all(path)).toEqual([
      { text: 'one', number: 1 },
      { text: '\uFEFFtwo', number: 2 },
    ]);
  });

  it('reads a line that spans many reads, and characters split between two reads', async () => {
    const path = join(dir, 'long.txt');
    // 1 MiB of three-byte characters (16 reads of 64 KiB, most cutting a character in two), then short lines.
    const long = '€'.repeat((1024 * 1024) / 3);
    writeFileSync(path, `first\n${long}\r\nafter\n`);
    const lines = await all(path);
    expect(lines.map(({ text, number }) => [text.length, number])).toEqual([
      [5, 1],
      [long.length, 2],
      [5, 3],
    ]);
    expect(lines[1]!.text === long).toBe(true);
  });

  it('refuses a line longer than the bound, naming it, also while it is still being written', async () => {
    const path = join(dir, 'too-long.txt');
    writeFileSync(path, `short\n${'x'.repeat(200 * 1024)}\nnever read\n`);
    const read = async () => {
      for await (const _ of fileLines(path, { follow: false, maxLineBytes: 128 * 1024 }));
    };
    await expect(read()).rejects.toThrow(/too-long\.txt: line 2: longer than 131072 bytes, the most a line may hold$/);
    // No line break needed: a follow refuses the line once it is too long.
    writeFileSync(path, 'x'.repeat(200 * 1024));
    const followed = fileLines(path, { follow: true, pollMs: 10, maxLineBytes: 128 * 1024 });
    await expect(followed.next()).rejects.toThrow(/too-long\.txt: line 1: longer than 131072 bytes/);
    expect(MAX_LINE_BYTES).toBe(64 * 1024 * 1024);
  });

  it('follows a growing file, giving a line once its line break is written', async () => {
    const path = join(dir, 'growing.txt');
    writeFileSync(path, 'one\ntw');
    const lines = fileLines(path, { follow: true, pollMs: 10 });
    expect((await lines.next()).value).toEqual([{ text: 'one', number: 1 }]);
    const next = lines.next();
    appendFileSync(path, 'o\nthree\n');
    expect((await next).value).toEqual([
      { text: 'two', number: 2 },
      { text: 'three', number: 3 },
    ]);
    await lines.return(undefined);
  });

  it('refuses a followed file that shrinks, and stops when told', async () => {
    const path = join(dir, 'shrinking.txt');
    writeFileSync(path, 'one\ntwo\n');
    const lines = fileLines(path, { follow: true, pollMs: 10 });
    await lines.next();
    truncateSync(path, 0);
    await expect(lines.next()).rejects.toThrow(/shrinking\.txt became shorter while it was followed/);

    const stop = new AbortController();
    const stopped = fileLines(path, { follow: true, pollMs: 10, signal: stop.signal });
    const waiting = stopped.next();
    stop.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });
});
