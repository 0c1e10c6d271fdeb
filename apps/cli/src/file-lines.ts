import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, note } from './cli.js';

export interface Line {
  text: string;
  /** 1-based, as editors count. */
  number: number;
}

export interface FollowOptions {
  /** Keep reading as the file grows (until the consumer stops, or `signal`), instead of ending at its end. */
  follow: boolean;
  signal?: AbortSignal;
  /** How often a followed file is looked at for more. */
  pollMs?: number;
  /** The longest line taken, in bytes (MAX_LINE_BYTES unless a test says otherwise). */
  maxLineBytes?: number;
}

const CHUNK_BYTES = 64 * 1024;

/** A line longer than this is refused: no report record or spool line comes near it, and each line is held whole in memory. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

const LF = 0x0a;

const MiB = 1024 * 1024;
const sizeText = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`);

/**
 * A UTF-8 text file's lines, as many at a time as one read brings (the consumer may act on each group,
 * e.g. send what they hold). Without `follow`, it ends at the end of the file, the last line with or
 * without its line break. With `follow` it waits for the file to appear and then to grow, looking every
 * `pollMs` (polling behaves the same on every file system, where change events do not), and gives only
 * complete lines: one being written is given once its line break is there. A file that shrinks under a
 * follow (truncated, or replaced by another run) is an error, and so is a line longer than `maxLineBytes`
 * or one that is not UTF-8, each named by its number.
 *
 * Line breaks are looked for in each read's bytes only (UTF-8 never has the byte 0x0A inside a character),
 * and a line's pieces are kept as they came and joined once, when its break arrives: a long line costs
 * its length, not its length times the reads it took.
 */
export async function* fileLines(path: string, { follow, signal, pollMs = 200, maxLineBytes = MAX_LINE_BYTES }: FollowOptions): AsyncGenerator<Line[]> {
  const handle = follow ? await openWhenThere(path, pollMs, signal) : await openFile(path);
  // Each line is decoded on its own, so no BOM is taken off per line: only the file's may be (below).
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let offset = 0;
  let number = 0;
  /** The line being read: its pieces so far, and their bytes. */
  let pieces: Uint8Array[] = [];
  let bytes = 0;
  const add = (piece: Uint8Array) => {
    bytes += piece.length;
    if (bytes > maxLineBytes) throw new CliError(`${path}: line ${number + 1}: longer than ${sizeText(maxLineBytes)}, the most a line may hold`);
    pieces.push(piece);
  };
  const end = (): Line => {
    number++;
    let text: string;
    try {
      text = decoder.decode(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
    } catch {
      throw new CliError(`${path}: line ${number}: not UTF-8 text`);
    }
    pieces = [];
    bytes = 0;
    if (number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    return { text: text.endsWith('\r') ? text.slice(0, -1) : text, number };
  };
  const buffer = Buffer.alloc(CHUNK_BYTES);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        const read = buffer.subarray(0, bytesRead);
        const lines: Line[] = [];
        let from = 0;
        for (let lf = read.indexOf(LF); lf !== -1; lf = read.indexOf(LF, from)) {
          add(read.subarray(from, lf));
          lines.push(end());
          from = lf + 1;
        }
        // The unfinished line's piece is copied: the next read reuses the buffer (and a slowly written line must not
        // hold a whole buffer per read).
        if (from < bytesRead) add(Buffer.from(read.subarray(from)));
        if (lines.length > 0) yield lines;
        continue;
      }
      if (!follow) {
        if (bytes > 0) yield [end()];
        return;
      }
      if ((await handle.stat()).size < offset) throw new CliError(`${path} became shorter while it was followed (truncated or replaced)`);
      await sleep(pollMs, undefined, { signal });
    }
  } finally {
    await handle.close();
  }
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Opens the file once it exists (pytest creates its report log when it starts), saying once that it waits. */
async function openWhenThere(path: string, pollMs: number, signal: AbortSignal | undefined): Promise<FileHandle> {
  for (let told = false; ; told = true) {
    try {
      return await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
    }
    if (!told) note(`waiting for ${path} to appear`);
    await sleep(pollMs, undefined, { signal });
  }
}
