/** Names on the NATS side: every program that talks to mcp-pytest over NATS uses these. */

/** The JetStream stream holding every event; one subject per session. */
export const EVENTS_STREAM = 'PYTEST_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'pytest.events';
export const EVENTS_SUBJECTS = `${EVENTS_SUBJECT_PREFIX}.*`;
export const eventSubject = (sessionId: string): string => `${EVENTS_SUBJECT_PREFIX}.${sessionId}`;
export const sessionIdOfSubject = (subject: string): string => subject.slice(EVENTS_SUBJECT_PREFIX.length + 1);

/** KV bucket of session views, keyed by session id. */
export const SESSIONS_BUCKET = 'pytest_sessions';

/** Durable consumer the projector folds the stream with. */
export const SESSION_PROJECTOR_DURABLE = 'session-projector';

/** Every running projector answers requests here (a rebuild refuses to run beside one). */
export const PROJECTOR_PRESENCE_SUBJECT = 'pytest.projector.presence';

/** Core-NATS change notices, one per session view update (payload: {@link SessionChangeNotice}). */
export const CHANGES_SUBJECT_PREFIX = 'pytest.changes.session';
export const CHANGES_SUBJECTS = `${CHANGES_SUBJECT_PREFIX}.*`;
export const changeSubject = (sessionId: string): string => `${CHANGES_SUBJECT_PREFIX}.${sessionId}`;
export const sessionIdOfChangeSubject = (subject: string): string => subject.slice(CHANGES_SUBJECT_PREFIX.length + 1);

/** Request/reply message patterns answered by the query app (NestJS NATS transport). */
export const QUERY_PATTERNS = {
  getSession: 'get-session',
  queryAudit: 'query-audit',
} as const;

/** Queue group the query app's replicas share, so each request is answered once. */
export const QUERY_QUEUE = 'pytest-query';

/** The audit stream: one record per tool call, on `pytest.audit.<allowed|denied>.<agent>`. */
export const AUDIT_STREAM = 'PYTEST_AUDIT';
export const AUDIT_SUBJECT_PREFIX = 'pytest.audit';
export const auditSubject = (decision: '*' | 'allowed' | 'denied', agent: string): string => `${AUDIT_SUBJECT_PREFIX}.${decision}.${agent}`;

/** Approval requests and decisions, one subject per approval: `pytest.approvals.<id>`. */
export const APPROVALS_STREAM = 'PYTEST_APPROVALS';
export const APPROVALS_SUBJECT_PREFIX = 'pytest.approvals';
export const approvalSubject = (id: string): string => `${APPROVALS_SUBJECT_PREFIX}.${id}`;

/** KV bucket of policy limit counters, one key per counter, scope and window. */
export const COUNTERS_BUCKET = 'pytest_policy_counters';
