import { Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type {
  GetFailureGroupsOutput,
  GetFailureGroupsRequest,
  GetFlakyTestsOutput,
  GetFlakyTestsRequest,
  GetSessionTestsOutput,
  GetSessionTestsRequest,
  GetTestHistoryOutput,
  GetTestHistoryRequest,
  ListSessionsOutput,
  ListSessionsRequest,
  Refusal,
} from '#contracts';
import { BadCursor, READ_MODEL_STORE, type ReadModelStore } from '#read-models';
import { SessionsService } from './sessions.service.js';

/**
 * The reads across sessions, from the SQL read models. Whose sessions a request covers (`owner`)
 * is the asker's to decide from its caller's grant (the gateway's tools and the HTTP API apply the
 * same rule); refusals are thrown as RpcException({ code, message }), as every read here.
 */
@Injectable()
export class ReadsService {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly store: ReadModelStore,
    private readonly sessions: SessionsService,
  ) {}

  listSessions(request: ListSessionsRequest): Promise<ListSessionsOutput> {
    return paged(() => this.store.listSessions(request));
  }

  async sessionTests(request: GetSessionTestsRequest): Promise<GetSessionTestsOutput> {
    await this.caughtUp(request);
    return (await paged(() => this.store.sessionTests(request))) ?? notFound(request.owner, request.session_id);
  }

  testHistory(request: GetTestHistoryRequest): Promise<GetTestHistoryOutput> {
    return this.store.testHistory(request);
  }

  flakyTests(request: GetFlakyTestsRequest): Promise<GetFlakyTestsOutput> {
    return this.store.flakyTests(request);
  }

  async failureGroups(request: GetFailureGroupsRequest): Promise<GetFailureGroupsOutput> {
    if (request.session_id !== undefined && request.owner === null) {
      return refuse('BAD_REQUEST', 'failure groups of a session need the owner of the session');
    }
    await this.caughtUp(request);
    return (await this.store.failureGroups(request)) ?? notFound(request.owner!, request.session_id!);
  }

  /**
   * With `min_seq`, waits until the session's view holds it: the projector stores the SQL read
   * models before the view, so they hold it then too (a writer reads its own writes).
   */
  private async caughtUp({ session_id, owner, min_seq }: { session_id?: string; owner: string | null; min_seq?: number }): Promise<void> {
    if (min_seq !== undefined && session_id !== undefined && owner !== null) await this.sessions.get({ session_id, owner, min_seq });
  }
}

async function paged<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof BadCursor) return refuse('INVALID_ARGUMENTS', error.message);
    throw error;
  }
}

const refuse = (code: Refusal['code'], message: string): never => {
  throw new RpcException({ code, message } satisfies Refusal);
};

const notFound = (owner: string, sessionId: string): never => refuse('SESSION_NOT_FOUND', `Grant "${owner}" has no session "${sessionId}".`);
