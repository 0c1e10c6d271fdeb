import { z } from 'zod';
import { bounded } from './bounded-json.js';
import { LIMITS } from './limits.js';

/** Safe as one NATS subject token and as a KV key: no dots, wildcards or spaces. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

export const SessionId = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(LIMITS.idChars, { error: `must be at most ${LIMITS.idChars} characters` })
  .regex(SESSION_ID_PATTERN, { error: 'may contain only letters, digits, "_" and "-"' })
  .describe('Session id: 1–128 characters of A–Z, a–z, 0–9, "_" or "-".');

export const OUTCOMES = ['passed', 'failed', 'skipped', 'error', 'xfailed', 'xpassed'] as const;
export const Outcome = z.enum(OUTCOMES).describe('pytest outcome of this test phase.');
export type Outcome = z.infer<typeof Outcome>;

export const PHASES = ['setup', 'call', 'teardown'] as const;
export const Phase = z.enum(PHASES).describe('pytest phase the outcome belongs to (default "call").');
export type Phase = z.infer<typeof Phase>;

export const NodeId = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(LIMITS.nodeidChars, { error: `must be at most ${LIMITS.nodeidChars} characters` })
  .describe('pytest node id, e.g. "tests/test_api.py::test_login[admin]".');

/** Seconds, as pytest reports them. */
export const Seconds = z
  .number({ error: 'must be a number of seconds' })
  .nonnegative({ error: 'must be a non-negative number of seconds' })
  .max(31_536_000, { error: 'must be at most one year in seconds' });

export const ShortText = z.string().max(LIMITS.idChars, { error: `must be at most ${LIMITS.idChars} characters` });
/** Free text such as a traceback: any length is accepted, the stored copy is bounded (LIMITS.errorBytes). */
export const LongText = z.string();

export const Count = z.int({ error: 'must be an integer' }).nonnegative({ error: 'must not be negative' });

const environmentShape = z.looseObject({
  os: z.string().min(1, { error: 'must not be empty' }).max(200).describe('Operating system, e.g. "Macos".'),
  python_version: z.string().min(1, { error: 'must not be empty' }).max(100).describe('Python version, e.g. "3.13.1".'),
});

export const Environment = bounded(environmentShape, {
  depth: LIMITS.jsonDepth,
  entries: LIMITS.jsonEntries,
  chars: LIMITS.environmentBytes,
}).describe(
  `Where the tests ran. Keys beyond os and python_version are kept as given, up to ${LIMITS.jsonDepth} levels deep and ` +
    `${LIMITS.jsonEntries} keys and items in all.`,
);
export type Environment = z.infer<typeof Environment>;

/**
 * The environment as events and views hold it. Looser than what a call may send today, so that
 * events stored under earlier, wider bounds stay readable; still bounded, so nothing recurses
 * over them without limit.
 */
export const StoredEnvironment = bounded(environmentShape, {
  depth: LIMITS.argumentDepth,
  entries: LIMITS.argumentEntries,
  chars: LIMITS.environmentBytes,
}).describe('Where the tests ran, with any extra keys as given.');

export const Labels = z
  .record(
    z
      .string()
      .min(1)
      .max(LIMITS.idChars, { error: `label names must be at most ${LIMITS.idChars} characters` })
      .refine((name) => name !== '__proto__', { error: 'the label name "__proto__" is not allowed' }),
    z.string().max(LIMITS.idChars * 4, { error: `label values must be at most ${LIMITS.idChars * 4} characters` }),
  )
  .refine((labels) => Object.keys(labels).length <= LIMITS.labels, { error: `at most ${LIMITS.labels} labels` })
  .describe('Free-form key/value labels, e.g. {"suite": "smoke"}.');

export const CiInfo = z
  .strictObject({
    provider: ShortText.optional().describe('CI system, e.g. "github-actions".'),
    run_id: ShortText.optional(),
    job: ShortText.optional(),
    commit: ShortText.optional(),
    branch: z.string().max(512).optional(),
    url: z.string().max(2048).optional(),
  })
  .describe('Where in CI this session ran.');

export const Location = z
  .strictObject({
    path: z.string().max(LIMITS.nodeidChars),
    lineno: z.int().nonnegative().nullable().optional(),
    domain: z.string().max(LIMITS.nodeidChars).optional(),
  })
  .describe("pytest's report.location: file path, 0-based line number, test name.");

export const Summary = z
  .strictObject({
    total_tests: Count,
    passed: Count,
    failed: Count,
    skipped: Count,
    exitstatus: z.int({ error: 'must be an integer exit status' }),
    errors: Count.optional(),
    xfailed: Count.optional(),
    xpassed: Count.optional(),
    duration: Seconds.optional().describe('Wall-clock seconds of the run, as pytest reports it.'),
  })
  .describe("The run's own summary, as pytest reported it.");
export type Summary = z.infer<typeof Summary>;

export const Counts = z.object({
  passed: Count,
  failed: Count,
  skipped: Count,
  error: Count,
  xfailed: Count,
  xpassed: Count,
  total: Count,
});
export type Counts = z.infer<typeof Counts>;

export const IsoTime = z.iso.datetime({ offset: true });
