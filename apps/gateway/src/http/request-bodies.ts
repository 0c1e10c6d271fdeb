import type { IncomingMessage } from 'node:http';
import { finished } from 'node:stream';

/** Raised while reading a body that is too large, not JSON, or finds no room; `status` is the HTTP answer. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
    /** Sent as `Retry-After`: the refusal is about now, not about the request. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The client closed its connection before its body arrived whole: there is nobody left to answer. */
export class UploadAbandoned extends Error {
  constructor(received: number, declared: number | undefined) {
    super(`the client went away mid-upload (${received} of ${declared ?? 'an undeclared number of'} bytes received)`);
  }
}

/** How long a caller refused for lack of room waits before trying again: bodies are read in well under that. */
const RETRY_AFTER_SECONDS = 1;
/** How long the rest of a refused body of unknown or excessive size is drained before the connection is cut. */
const LINGER_MS = 5_000;

/**
 * Request bodies being read, each bounded (`maxBytes`, 413 beyond) and all of them together
 * (`budgetBytes`, MCP_BODY_BUDGET_MB; 503 beyond), so that many large uploads at once cannot take
 * the gateway's memory. A body with a Content-Length reserves it before a byte is read; a chunked
 * one reserves as it arrives. The reservation is given back once the body is parsed, refused or
 * abandoned: a stalled upload holds its share only until its connection ends.
 */
export class RequestBodies {
  private reading = 0;

  constructor(
    readonly maxBytes: number,
    readonly budgetBytes: number,
  ) {}

  /** Bytes of bodies being read right now. */
  get inFlight(): number {
    return this.reading;
  }

  /**
   * Whether the body, if an answer leaves it unread, must not be drained to its end as Node would:
   * a chunked one (of any length) or one declared beyond the limit. Those `linger`.
   */
  undrainable(req: IncomingMessage): boolean {
    return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > this.maxBytes;
  }

  /**
   * After the answer: drains what is left of the body, discarding it, for LINGER_MS at most, then
   * cuts the connection. A client still sending (most do not read before they have sent) gets to
   * read its answer; closing at once would reset the connection under it.
   */
  linger(req: IncomingMessage): void {
    if (req.complete) return;
    const cut = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    finished(req, () => clearTimeout(cut));
    req.resume();
  }

  async readJson(req: IncomingMessage): Promise<unknown> {
    const length = req.headers['content-length'];
    const declared = length === undefined ? undefined : Number(length);
    if (declared !== undefined && declared > this.maxBytes) throw this.tooLarge();
    let held = this.reserve(declared ?? 0);
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        // Not destroyed when a check below throws: the refusal must still reach the client.
        for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > this.maxBytes) throw this.tooLarge();
          if (size > held) held += this.reserve(size - held);
          chunks.push(chunk);
        }
      } catch (error) {
        throw error instanceof BodyError ? error : new UploadAbandoned(size, declared);
      }
      return parseJson(Buffer.concat(chunks, size));
    } finally {
      this.reading -= held;
    }
  }

  /** Takes `bytes` of the budget; answers them, or throws the 503 when they do not fit. */
  private reserve(bytes: number): number {
    if (this.reading + bytes > this.budgetBytes) {
      throw new BodyError(
        503,
        -32000,
        `Server busy: request bodies being read at once would exceed MCP_BODY_BUDGET_MB (${this.budgetBytes / 1024 / 1024} MiB); retry in ${RETRY_AFTER_SECONDS} s`,
        RETRY_AFTER_SECONDS,
      );
    }
    this.reading += bytes;
    return bytes;
  }

  private tooLarge(): BodyError {
    return new BodyError(413, -32600, `Payload too large: request body over ${this.maxBytes} bytes`);
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BodyError(400, -32700, `Parse error: ${(error as Error).message}`);
  }
}
