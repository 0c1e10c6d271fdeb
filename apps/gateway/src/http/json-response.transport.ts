import {
  WebStandardStreamableHTTPServerTransport,
  type HandleRequestOptions,
  type WebStandardStreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

interface StreamEntry {
  resolveJson?: unknown;
  controller?: unknown;
  cleanup(): void;
}
/** The SDK transport's private bookkeeping this class reaches into. */
interface TransportInternals {
  _streamMapping?: Map<string, StreamEntry>;
  _requestToStreamMapping?: Map<RequestId, string>;
}

/** Whether a POST body holds a request that asked for progress notifications. */
function asksForProgress(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((message) => (message as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta?.progressToken !== undefined);
}

/**
 * The SDK's web-standard transport answering JSON, the cheap path, except for a POST whose request
 * asked for progress (a call that may wait for approval): that one is answered as an SSE stream, so
 * its progress notifications reach the client before the result — the spec lets the server choose
 * per request. The SDK (1.32) has one switch per transport; it is read synchronously where a POST
 * picks its answer and where a message is sent, so it is set around exactly those calls.
 *
 * It also releases each answered request's stream entry, which the SDK keeps in JSON mode until the
 * MCP session closes (modelcontextprotocol/typescript-sdk issue 2559).
 */
export class JsonResponseTransport extends WebStandardStreamableHTTPServerTransport {
  private jsonMode = true;

  constructor(options: Omit<WebStandardStreamableHTTPServerTransportOptions, 'enableJsonResponse'>) {
    super({ ...options, enableJsonResponse: true });
    Object.defineProperty(this, '_enableJsonResponse', { get: () => this.jsonMode, set: () => undefined });
  }

  override handleRequest(req: Request, options?: HandleRequestOptions): Promise<Response> {
    this.jsonMode = !asksForProgress(options?.parsedBody);
    try {
      return super.handleRequest(req, options);
    } finally {
      this.jsonMode = true;
    }
  }

  override async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    const internals = this as unknown as TransportInternals;
    const response = 'id' in message && ('result' in message || 'error' in message);
    const requestId = response ? message.id : options?.relatedRequestId;
    const streamId = requestId === undefined ? undefined : internals._requestToStreamMapping?.get(requestId);
    const stream = streamId === undefined ? undefined : internals._streamMapping?.get(streamId);
    this.jsonMode = stream?.controller === undefined;
    let sent: Promise<void>;
    try {
      sent = super.send(message, options);
    } finally {
      this.jsonMode = true;
    }
    await sent;
    // Once every request of the POST is answered the SDK drops the request ids but not the stream.
    if (response && stream?.resolveJson && ![...(internals._requestToStreamMapping?.values() ?? [])].includes(streamId!)) stream.cleanup();
  }
}
