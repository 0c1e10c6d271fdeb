/** Names on the NATS side: every program that talks to mcp-pytest over NATS uses these. */

/**
 * A session as the system addresses it: session ids are scoped to the grant that owns the session,
 * so two grants may each have a session "run-42" and neither can reach, block or steer the other's.
 */
export interface SessionRef {
  owner: string;
  sessionId: string;
}

/** `owner.sessionId`: the session's key in KV buckets and the tail of its subjects (neither part holds a dot). */
export const sessionKey = ({ owner, sessionId }: SessionRef): string => `${owner}.${sessionId}`;

/** Owner of sessions recorded before sessions had owners (on one-token subjects): the default local grant. */
export const LEGACY_OWNER = 'local';

/**
 * The JetStream stream holding every event; one subject per session:
 * `pytest.events.<owner>.<sessionId>.<partition>`. The partition (a hash of the session, see
 * {@link eventPartition}) lets projector replicas share the stream, one consumer per partition, while
 * each session's events stay on one consumer and are folded in order.
 */
export const EVENTS_STREAM = 'PYTEST_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'pytest.events';
export const EVENTS_SUBJECTS = `${EVENTS_SUBJECT_PREFIX}.*.*.*`;

/**
 * How many partitions the event subjects are spread over: fixed, since a session must keep its
 * subject (its optimistic-concurrency sequence) for life. More than any useful number of projector
 * replicas; fewer would leave replicas idle, more would cost a consumer each.
 */
export const EVENT_PARTITIONS = 8;

/** The session's partition: FNV-1a (32 bit) of its key, modulo {@link EVENT_PARTITIONS}. */
export function eventPartition(ref: SessionRef): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(sessionKey(ref))) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % EVENT_PARTITIONS;
}

export const eventSubject = (ref: SessionRef): string => `${EVENTS_SUBJECT_PREFIX}.${sessionKey(ref)}.${eventPartition(ref)}`;
/** The event subjects of one partition: a projector consumer's filter. */
export const partitionEventSubjects = (partition: number): string => `${EVENTS_SUBJECT_PREFIX}.*.*.${partition}`;

/** A session recorded before partitions, on `pytest.events.<owner>.<sessionId>`: still read and folded, never written. */
export const UNPARTITIONED_EVENT_SUBJECTS = `${EVENTS_SUBJECT_PREFIX}.*.*`;
export const unpartitionedEventSubject = (ref: SessionRef): string => `${EVENTS_SUBJECT_PREFIX}.${sessionKey(ref)}`;
/** A session recorded before ownership, on `pytest.events.<sessionId>`: still read and folded, never written. */
export const LEGACY_EVENT_SUBJECTS = `${EVENTS_SUBJECT_PREFIX}.*`;
export const legacyEventSubject = (sessionId: string): string => `${EVENTS_SUBJECT_PREFIX}.${sessionId}`;

/** The session an event subject names, in any of its three forms. */
export function sessionRefOfSubject(subject: string): SessionRef {
  const [owner, sessionId] = subject.slice(EVENTS_SUBJECT_PREFIX.length + 1).split('.');
  return sessionId === undefined ? { owner: LEGACY_OWNER, sessionId: owner! } : { owner: owner!, sessionId };
}

/** KV bucket of session views, keyed by {@link sessionKey} (a named read-model group's: `<group>.<owner>.<sessionId>`). */
export const SESSIONS_BUCKET = 'pytest_sessions';

/** KV bucket of projector partition leases (`partition.<durable>`) and live replicas, expiring unless renewed. */
export const PROJECTOR_LEASES_BUCKET = 'pytest_projector_leases';

/** Every running projector answers requests here (a rebuild refuses to run beside one); a named group's on `.<group>`. */
export const PROJECTOR_PRESENCE_SUBJECT = 'pytest.projector.presence';

/** A read-model group's name: letters, digits and `-` (its names below join it with `_` and `.`). */
export const READ_MODEL_GROUP_PATTERN = /^[A-Za-z0-9-]{1,32}$/;

/**
 * The names of one read-model group: a complete set of read models folded from the whole stream —
 * its projector consumers, partition leases, session views and SQL read models. The default group
 * (no name) is the one set all hosts share (PostgreSQL, or one host); each host keeping its read
 * models in SQLite runs a group of its own (READ_MODEL_GROUP), folding the whole stream into its
 * own file. Groups share the buckets, their keys apart.
 */
export interface ReadModelGroup {
  name: string | undefined;
  /** The durable consumer of one partition's events (each held by one projector replica of the group at a time). */
  durable(partition: number): string;
  /**
   * Consumers of the subjects of earlier versions, where the stream still takes them: the one that
   * folded the whole stream before partitions (kept, now filtered to the unpartitioned subjects), and
   * one for the sessions from before owners.
   */
  unpartitionedDurable: string;
  ownerlessDurable: string;
  /** The session's key in {@link SESSIONS_BUCKET}. */
  viewKey(ref: SessionRef): string;
  /** The KV key filter matching every view of the group, and no other group's. */
  viewKeys: string;
  /** How its replicas' keys in {@link PROJECTOR_LEASES_BUCKET} begin. */
  replicaKeyPrefix: string;
  presenceSubject: string;
}

export function readModelGroup(name?: string): ReadModelGroup {
  if (name === undefined) {
    return {
      name,
      durable: (partition) => `session-projector-${partition}`,
      unpartitionedDurable: 'session-projector',
      ownerlessDurable: 'session-projector-ownerless',
      viewKey: sessionKey,
      viewKeys: '*.*',
      replicaKeyPrefix: 'replica.',
      presenceSubject: PROJECTOR_PRESENCE_SUBJECT,
    };
  }
  if (!READ_MODEL_GROUP_PATTERN.test(name)) throw new Error(`read-model group "${name}" must match ${READ_MODEL_GROUP_PATTERN}`);
  return {
    name,
    durable: (partition) => `session-projector_${name}_${partition}`,
    unpartitionedDurable: `session-projector_${name}`,
    ownerlessDurable: `session-projector_${name}_ownerless`,
    viewKey: (ref) => `${name}.${sessionKey(ref)}`,
    viewKeys: `${name}.*.*`,
    replicaKeyPrefix: `replica_${name}.`,
    presenceSubject: `${PROJECTOR_PRESENCE_SUBJECT}.${name}`,
  };
}

/** Core-NATS change notices, one per session view update, on `pytest.changes.session.<owner>.<sessionId>` (payload: {@link SessionChangeNotice}). */
export const CHANGES_SUBJECT_PREFIX = 'pytest.changes.session';
export const CHANGES_SUBJECTS = `${CHANGES_SUBJECT_PREFIX}.*.*`;
export const changeSubject = (ref: SessionRef): string => `${CHANGES_SUBJECT_PREFIX}.${sessionKey(ref)}`;
/** Change notices of the sessions one grant owns (every owner's: `*`), for a filtered subscription. */
export const ownerChangeSubjects = (owner: string | '*'): string => `${CHANGES_SUBJECT_PREFIX}.${owner}.*`;

/**
 * The same notices again per project, on `pytest.changes.project.<owner>.<project token>`, for a
 * dashboard following one project. A project name may hold any character: outside
 * `A–Z a–z 0–9 _ -` each UTF-8 byte is written `~XX` (hex), so the token is one subject token.
 */
export const PROJECT_CHANGES_SUBJECT_PREFIX = 'pytest.changes.project';
export const projectToken = (project: string): string =>
  [...new TextEncoder().encode(project)]
    .map((byte) =>
      /[A-Za-z0-9_-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `~${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
export const projectChangeSubject = (owner: string, project: string): string => `${PROJECT_CHANGES_SUBJECT_PREFIX}.${owner}.${projectToken(project)}`;

/**
 * The session change notices, kept a while in a stream: the live feeds (`/api/events`, MCP resource
 * subscriptions) resume from it by sequence, so a client that reconnects misses nothing.
 */
export const CHANGES_STREAM = 'PYTEST_CHANGES';
/** The view key a change subject names. */
export const sessionKeyOfChangeSubject = (subject: string): string => subject.slice(CHANGES_SUBJECT_PREFIX.length + 1);

/** Request/reply message patterns answered by the query app (NestJS NATS transport). */
export const QUERY_PATTERNS = {
  getSession: 'get-session',
  listSessions: 'list-sessions',
  getSessionTests: 'get-session-tests',
  getTestHistory: 'get-test-history',
  getFlakyTests: 'get-flaky-tests',
  getFailureGroups: 'get-failure-groups',
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
/**
 * The `Nats-Msg-Id` of an approval's decision, whoever decides: the expected last sequence lets the
 * first decision win, and the one message id keeps a second from being stored beside it (nats-server
 * before 2.9.21 in a cluster lets two such publishes from different connections through at once).
 */
export const approvalDecisionMsgId = (id: string): string => `${id}-decided`;

/** KV bucket of policy limit counters, one key per counter, scope and window. */
export const COUNTERS_BUCKET = 'pytest_policy_counters';
