/**
 * Bounds on what the system stores. Inputs over a hard bound are refused; long free text
 * (errors, tracebacks) is kept up to its bound and clipped in the middle beyond it.
 */
export const LIMITS = {
  /** Longest session_id, project, or label accepted. */
  idChars: 128,
  /** Longest pytest node id accepted (parametrized ids can be long). */
  nodeidChars: 4096,
  /** `error` and `longrepr` are each stored in the event log up to this many UTF-8 bytes. */
  errorBytes: 32 * 1024,
  /** Each failure's error in the session view is cut to this many UTF-8 bytes. */
  viewErrorBytes: 4 * 1024,
  /** The environment object (with any extra keys), in characters of its JSON, at most. */
  environmentBytes: 16 * 1024,
  /** Levels of nesting in a free-form object (the object itself is level 1). */
  jsonDepth: 16,
  /** Keys and array items, over all levels, in a free-form object. */
  jsonEntries: 512,
  /** Keys and array items, over all levels, in one tool call's arguments, and their nesting: far beyond any valid call. */
  argumentEntries: 16_384,
  argumentDepth: 64,
  /** Failures listed in a session view, at most; the rest are counted in `failures_omitted`. */
  viewFailures: 100,
  /** …and at most this many bytes of them as JSON, so a view always fits a NATS message. */
  viewFailureBytes: 448 * 1024,
  /** Slowest test results kept in a session view. */
  viewSlowest: 10,
  /** Labels on one session. */
  labels: 32,
  /** Outcomes in one record_test_outcomes call, at most. */
  batchOutcomes: 1000,
  /** Test results folded into one event (group commit, or one record_test_outcomes call), at most. */
  batchResults: 1000,
  /** A refusal's or a stuck session's reason, in characters at most (it may quote caller data). */
  reasonChars: 2000,
  /** Upper bound of one event's payload; NATS' default max_payload is 1 MiB. */
  batchBytes: 512 * 1024,
} as const;
