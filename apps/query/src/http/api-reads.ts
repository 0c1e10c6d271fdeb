import { Injectable } from '@nestjs/common';
import { PolicySource } from '#auth';
import {
  GetFailureGroupsInput,
  GetFlakyTestsInput,
  GetSessionInput,
  GetSessionTestsInput,
  GetTestHistoryInput,
  ListSessionsInput,
  type Identity,
  type PolicyFile,
  type ToolName,
} from '#contracts';
import { checkCall, mayReadSessionsOf, readOwner, SessionAccessDenied } from '#domain';
import { ReadsService } from '../reads.service.js';
import { SessionsService } from '../sessions.service.js';
import { HttpRefusal } from './http-answers.js';
import { parseParams } from './query-params.js';

/** The HTTP API's reads: each is its MCP tool's, with the same parameters, rules and JSON. */
export type ReadTool = Extract<ToolName, 'list_sessions' | 'get_session' | 'get_session_tests' | 'get_test_history' | 'get_flaky_tests' | 'get_failure_groups'>;

/** Paths of the reads; `:id` (the first group) is the session id. */
export const READ_ROUTES: readonly { path: RegExp; tool: ReadTool }[] = [
  { path: /^\/api\/sessions$/, tool: 'list_sessions' },
  { path: /^\/api\/sessions\/([^/]+)$/, tool: 'get_session' },
  { path: /^\/api\/sessions\/([^/]+)\/tests$/, tool: 'get_session_tests' },
  { path: /^\/api\/tests\/history$/, tool: 'get_test_history' },
  { path: /^\/api\/flaky$/, tool: 'get_flaky_tests' },
  { path: /^\/api\/failure-groups$/, tool: 'get_failure_groups' },
];

/**
 * Answers the reads in-process (the services the NATS patterns use), after the checks the gateway
 * makes for the tool: the policy must allow the grant the tool, and the owner read follows the
 * one ownership rule (libs/domain session-access).
 */
@Injectable()
export class ApiReads {
  constructor(
    private readonly reads: ReadsService,
    private readonly sessions: SessionsService,
    private readonly policies: PolicySource,
  ) {}

  async answer(tool: ReadTool, identity: Identity, params: Record<string, string>, sessionId?: string): Promise<unknown> {
    const policy = this.policies.current;
    allow(policy, identity, tool, params);
    if (sessionId !== undefined) {
      if (Object.hasOwn(params, 'session_id')) throw new HttpRefusal(400, 'INVALID_ARGUMENTS', 'session_id: given by the path, not as a parameter');
      params = { ...params, session_id: sessionId };
    }
    switch (tool) {
      case 'list_sessions': {
        const args = parseParams(ListSessionsInput, params);
        return this.reads.listSessions({ ...args, owner: readOwner(policy, identity, args.owner) });
      }
      case 'get_session': {
        const args = parseParams(GetSessionInput, params);
        return this.sessions.get({ session_id: args.session_id!, owner: sessionOwner(policy, identity, args.owner) });
      }
      case 'get_session_tests': {
        const args = parseParams(GetSessionTestsInput, params);
        return this.reads.sessionTests({ ...args, session_id: args.session_id!, owner: sessionOwner(policy, identity, args.owner) });
      }
      case 'get_test_history': {
        const args = parseParams(GetTestHistoryInput, params);
        return this.reads.testHistory({ ...args, owner: readOwner(policy, identity, args.owner) });
      }
      case 'get_flaky_tests': {
        const args = parseParams(GetFlakyTestsInput, params);
        return this.reads.flakyTests({ ...args, owner: readOwner(policy, identity, args.owner) });
      }
      case 'get_failure_groups': {
        const args = parseParams(GetFailureGroupsInput, params);
        const owner = args.session_id === undefined ? readOwner(policy, identity, args.owner) : sessionOwner(policy, identity, args.owner);
        return this.reads.failureGroups({ ...args, owner });
      }
    }
  }
}

/**
 * The policy's verdict on the read as a tool call (hidden, not allowed, or denied by a condition on
 * its parameters): 403 unless allowed. Limits and approvals count MCP calls only.
 */
export function allow(policy: PolicyFile, identity: Identity, tool: ToolName, params: Record<string, string>): void {
  const verdict = checkCall(policy, { tool, args: params, identity, mcpSession: 'http' });
  if (!verdict.allowed) throw new HttpRefusal(403, 'POLICY_DENIED', `${tool}: ${verdict.reason} (rule: ${verdict.rule})`);
}

/** The owner of the one session a read names: the caller's own grant unless `owner` names another it may read. */
function sessionOwner(policy: PolicyFile, identity: Identity, owner: string | undefined): string {
  const named = owner ?? identity.grant;
  if (!mayReadSessionsOf(policy, identity, named)) throw new SessionAccessDenied(identity.grant, named);
  return named;
}
