import { z } from 'zod';
import { ApprovalEvent } from './approvals.js';
import { AuditMessage, AuditQuery, AuditQueryResult } from './audit.js';
import { PytestEvent } from './events.js';
import { KeysFile } from './identity.js';
import { PolicyFile } from './policy.js';
import {
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
} from './reads.js';
import { GetSessionRequest, SessionChangeNotice, SessionView } from './views.js';

/** What other programs read or send over NATS, and the files people write, as JSON Schemas derived from the zod contracts (schemas/). */
const PUBLIC = {
  event: PytestEvent,
  'session-view': SessionView,
  'session-change-notice': SessionChangeNotice,
  'get-session-request': GetSessionRequest,
  'list-sessions-request': ListSessionsRequest,
  'list-sessions-result': ListSessionsOutput,
  'get-session-tests-request': GetSessionTestsRequest,
  'get-session-tests-result': GetSessionTestsOutput,
  'get-test-history-request': GetTestHistoryRequest,
  'get-test-history-result': GetTestHistoryOutput,
  'get-flaky-tests-request': GetFlakyTestsRequest,
  'get-flaky-tests-result': GetFlakyTestsOutput,
  'get-failure-groups-request': GetFailureGroupsRequest,
  'get-failure-groups-result': GetFailureGroupsOutput,
  'audit-message': AuditMessage,
  'audit-query': AuditQuery,
  'audit-query-result': AuditQueryResult,
  'approval-event': ApprovalEvent,
  'policy-file': PolicyFile,
  'keys-file': KeysFile,
} as const;

/** Files people write, and requests other programs send, are described as they are written (before defaults and conversions). */
const WRITTEN: ReadonlySet<string> = new Set(['policy-file', 'keys-file', ...Object.keys(PUBLIC).filter((name) => name.endsWith('-request'))]);

export function jsonSchemas(): Record<keyof typeof PUBLIC, object> {
  return Object.fromEntries(
    Object.entries(PUBLIC).map(([name, schema]) => [name, z.toJSONSchema(schema, { io: WRITTEN.has(name) ? 'input' : 'output', target: 'draft-2020-12' })]),
  ) as Record<keyof typeof PUBLIC, object>;
}
