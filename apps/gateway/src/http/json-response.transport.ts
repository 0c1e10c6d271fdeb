import {
  WebStandardStreamableHTTPServerTransport,
  type WebStandardStreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

interface StreamEntry {
  resolveJson?: unknown;
  cleanup(): void;
}
/** The SDK transport's private bookkeeping this workaround reaches into. */
interface TransportInternals {
  _streamMapping?: Map<string, StreamEntry>;
  _requestToStreamMapping?: Map<RequestId, string>;
}

/**
 * The SDK's web-standard transport in JSON-response mode, releasing each answered request's stream
 * entry. The SDK (1.32) keeps one entry per POST until the MCP session closes — unbounded memory and
 * GC work for a long-lived session (modelcontextprotocol/typescript-sdk issue 2559). Where those
 * internals are absent (a fixed SDK), this does nothing.
 */
export class JsonResponseTransport extends WebStandardStreamableHTTPServerTransport {
  constructor(options: Omit<WebStandardStreamableHTTPServerTransportOptions, 'enableJsonResponse'>) {
    super({ ...options, enableJsonResponse: true });
  }

  override async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    const internals = this as unknown as TransportInternals;
    const requestId = 'id' in message && ('result' in message || 'error' in message) ? message.id : undefined;
    const streamId = requestId === undefined ? undefined : internals._requestToStreamMapping?.get(requestId);
    await super.send(message, options);
    // Once every request of the POST is answered the SDK drops the request ids but not the stream.
    if (streamId !== undefined && ![...(internals._requestToStreamMapping?.values() ?? [])].includes(streamId)) {
      const entry = internals._streamMapping?.get(streamId);
      if (entry?.resolveJson) entry.cleanup();
    }
  }
}
