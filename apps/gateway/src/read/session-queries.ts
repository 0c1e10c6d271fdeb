import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import {
  QUERY_PATTERNS,
  RefusalCode,
  type GetFailureGroupsOutput,
  type GetFailureGroupsRequest,
  type GetFlakyTestsOutput,
  type GetFlakyTestsRequest,
  type GetSessionRequest,
  type GetSessionTestsOutput,
  type GetSessionTestsRequest,
  type GetTestHistoryOutput,
  type GetTestHistoryRequest,
  type ListSessionsOutput,
  type ListSessionsRequest,
  type SessionView,
} from '#contracts';
import { Refused } from '../mcp/refusal-result.js';
import type { GatewayEnv } from '../gateway.env.js';

export const QUERY_CLIENT = Symbol('QueryClient');

/** The gateway's reads: request/reply to the query app over NATS, one message pattern per read. */
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

  listSessions(request: ListSessionsRequest): Promise<ListSessionsOutput> {
    return this.ask(QUERY_PATTERNS.listSessions, request);
  }

  getSessionTests(request: GetSessionTestsRequest): Promise<GetSessionTestsOutput> {
    return this.ask(QUERY_PATTERNS.getSessionTests, request);
  }

  getTestHistory(request: GetTestHistoryRequest): Promise<GetTestHistoryOutput> {
    return this.ask(QUERY_PATTERNS.getTestHistory, request);
  }

  getFlakyTests(request: GetFlakyTestsRequest): Promise<GetFlakyTestsOutput> {
    return this.ask(QUERY_PATTERNS.getFlakyTests, request);
  }

  getFailureGroups(request: GetFailureGroupsRequest): Promise<GetFailureGroupsOutput> {
    return this.ask(QUERY_PATTERNS.getFailureGroups, request);
  }

  private async ask<T>(pattern: string, request: object): Promise<T> {
    try {
      return await firstValueFrom(this.client.send<T>(pattern, request).pipe(timeout(this.timeoutMs)));
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new Refused('QUERY_UNAVAILABLE', `the query app did not answer "${pattern}" within ${this.timeoutMs} ms`);
      }
      // The query app answers refusals as { code, message }; anything else is its failure.
      const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
      const known = RefusalCode.safeParse(code);
      throw new Refused(known.success ? known.data : 'INTERNAL', typeof message === 'string' ? message : String(error));
    }
  }
}
