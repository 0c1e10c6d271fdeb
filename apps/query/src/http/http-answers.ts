import type { IncomingMessage, ServerResponse } from 'node:http';
import { RpcException } from '@nestjs/microservices';
import { boundedReason, RefusalCode, type Refusal } from '#contracts';
import { DomainError } from '#domain';

/** A refusal with the HTTP status it is answered with; its body is `{ error: { code, message } }`. */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** The status of each refusal the reads can give; anything else is a failure (500). */
const STATUS: Partial<Record<RefusalCode, number>> = {
  INVALID_ARGUMENTS: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  SESSION_ACCESS_DENIED: 403,
  POLICY_DENIED: 403,
  HOST_NOT_ALLOWED: 403,
  SESSION_NOT_FOUND: 404,
  NO_SUCH_ENDPOINT: 404,
  SESSION_STUCK: 409,
  READ_MODEL_BEHIND: 503,
  TOO_MANY_STREAMS: 503,
};

/**
 * The refusal an error thrown by a read stands for: the services throw RpcException({ code, message })
 * (as they answer over NATS), the ownership rule a DomainError. Undefined for a failure.
 */
export function refusalOf(error: unknown): HttpRefusal | undefined {
  if (error instanceof HttpRefusal) return error;
  const given: unknown = error instanceof RpcException ? error.getError() : error instanceof DomainError ? error : undefined;
  const { code, message } = (given ?? {}) as Partial<Refusal>;
  const known = RefusalCode.safeParse(code);
  const status = known.success ? STATUS[known.data] : undefined;
  return status === undefined ? undefined : new HttpRefusal(status, known.data!, String(message));
}

/**
 * What every answer carries: no content sniffing, nothing loaded from elsewhere, no page framing
 * it, no Referer (URLs may carry `access_token`).
 */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-security-policy', "default-src 'self'; frame-ancestors 'none'");
  res.setHeader('referrer-policy', 'no-referrer');
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

export function sendRefusal(req: IncomingMessage, res: ServerResponse, { status, code, message }: HttpRefusal): void {
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="mcp-pytest"');
  sendJson(req, res, status, { error: { code, message: boundedReason(message) } });
}
