import type { SqlDriver } from './sql-driver.js';

/**
 * The read-model schema, one versioned step at a time; each is applied once, in order, and
 * recorded in `schema_migrations`. The SQL is the subset SQLite and PostgreSQL share. Never edit a
 * released step: add one.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'sessions, results, test runs',
    sql: `
      CREATE TABLE sessions (
        owner TEXT NOT NULL,
        session_id TEXT NOT NULL,
        start_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        project TEXT,
        status TEXT NOT NULL,
        stuck INTEGER NOT NULL,
        branch TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration DOUBLE PRECISION,
        exitstatus INTEGER,
        counts TEXT NOT NULL,
        ci TEXT,
        labels TEXT NOT NULL,
        PRIMARY KEY (owner, session_id)
      );
      CREATE INDEX sessions_by_start ON sessions (start_seq);
      CREATE INDEX sessions_by_owner ON sessions (owner, start_seq);
      CREATE INDEX sessions_by_project ON sessions (project, start_seq);
      CREATE TABLE session_labels (
        owner TEXT NOT NULL,
        session_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (owner, session_id, name)
      );
      CREATE INDEX session_labels_by_value ON session_labels (name, value);
      CREATE TABLE results (
        seq BIGINT NOT NULL,
        idx INTEGER NOT NULL,
        owner TEXT NOT NULL,
        session_id TEXT NOT NULL,
        nodeid TEXT NOT NULL,
        phase TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        duration DOUBLE PRECISION NOT NULL,
        error TEXT,
        signature TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (seq, idx)
      );
      CREATE INDEX results_by_session ON results (owner, session_id, seq, idx);
      CREATE INDEX failures_by_session ON results (owner, session_id) WHERE signature IS NOT NULL;
      CREATE TABLE test_runs (
        owner TEXT NOT NULL,
        session_id TEXT NOT NULL,
        nodeid TEXT NOT NULL,
        project TEXT,
        branch TEXT,
        start_seq BIGINT NOT NULL,
        started_at TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        severity INTEGER NOT NULL,
        duration DOUBLE PRECISION NOT NULL,
        error TEXT,
        earlier_failed INTEGER NOT NULL,
        PRIMARY KEY (owner, session_id, nodeid)
      );
      CREATE INDEX test_runs_by_test ON test_runs (project, nodeid, start_seq);
    `,
  },
];

/** Every table the migrations create, dropped by a reset. */
export const TABLES = ['test_runs', 'results', 'session_labels', 'sessions', 'schema_migrations'] as const;

/** Applies the steps not yet applied, in one transaction that other processes' migrations wait for. */
export async function migrate(driver: SqlDriver): Promise<void> {
  await driver.transaction(async (tx) => {
    // SQLite's BEGIN IMMEDIATE already holds the write lock; PostgreSQL needs a lock of its own.
    if (driver.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(7201001)');
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set((await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => Number(row.version)));
    for (const step of MIGRATIONS) {
      if (applied.has(step.version)) continue;
      await tx.exec(step.sql);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [step.version, step.name, new Date().toISOString()]);
    }
  });
}
