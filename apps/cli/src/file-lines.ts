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
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A UTF-8 text file's lines, as many at a time as one read brings (the consumer may act on each group,
 * e.g. send what they hold). Without `follow`, it ends at the end of the file, the last line with or
 * without its line break. With `follow` it waits for the file to appear and then to grow, looking every
 * `pollMs` (polling behaves the same on every file system, where change events do not), and gives only
 * complete lines: one being written is given once its line break is there. A file that shrinks under a
 * follow (truncated, or replaced by another run) is an error.
 */
export async function* fileLines(path: string, { follow, signal, pollMs = 200 }: FollowOptions): AsyncGenerator<Line[]> {
  const handle = follow ? await openWhenThere(path, pollMs, signal) : await openFile(path);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let offset = 0;
  let partial = '';
  let number = 0;
  const decode = (bytes: Uint8Array, stream: boolean) => {
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      throw new CliError(`${path}: not UTF-8 text${number > 0 ? ` (after line ${number})` : ''}`);
    }
  };
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        const lines = (partial + decode(buffer.subarray(0, bytesRead), true)).split('\n');
        partial = lines.pop()!;
        if (lines.length > 0) yield lines.map((text) => ({ text: text.replace(/\r$/, ''), number: ++number }));
        continue;
      }
      if (!follow) {
        const last = partial + decode(new Uint8Array(), false);
        if (last) yield [{ text: last.replace(/\r$/, ''), number: ++number }];
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
