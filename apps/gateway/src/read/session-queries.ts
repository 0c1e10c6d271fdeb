import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { QUERY_PATTERNS, type GetSessionRequest, type SessionView } from '#contracts';
import type { GatewayEnv } from '../gateway.env.js';

export const QUERY_CLIENT = Symbol('QueryClient');

/** A read the query app refused or did not answer; `code` comes from the query app where it answered. */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The gateway's reads: request/reply to the query app over NATS. */
@Injectable()
export class SessionQueries {
  private readonly timeoutMs: number;

  constructor(
    @Inject(QUERY_CLIENT) private readonly client: ClientProxy,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.timeoutMs = config.get('QUERY_TIMEOUT_MS', { infer: true });
  }

  getSession(request: GetSessionRequest): Promise<SessionView> {
    return this.ask<SessionView>(QUERY_PATTERNS.getSession, request);
  }

  private async ask<T>(pattern: string, request: object): Promise<T> {
    try {
      return await firstValueFrom(this.client.send<T>(pattern, request).pipe(timeout(this.timeoutMs)));
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new QueryError('QUERY_UNAVAILABLE', `the query app did not answer "${pattern}" within ${this.timeoutMs} ms`);
      }
      const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
      throw new QueryError(typeof code === 'string' ? code : 'QUERY_FAILED', typeof message === 'string' ? message : String(error));
    }
  }
}
