/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | null;

/** Statements inside one transaction. */
export interface SqlTransaction {
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs DDL (several statements). */
  exec(sql: string): Promise<void>;
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** Inserts rows (one array of values per row, in `columns` order); `tail` follows the VALUES (e.g. an ON CONFLICT clause). */
  insert(table: string, columns: readonly string[], rows: readonly SqlValue[][], tail?: string): Promise<void>;
}

/**
 * The little a read-model store needs of a SQL database, with `?` placeholders whatever its
 * dialect: reads, DDL, and transactions. SQLite (one file, one writing process) and PostgreSQL
 * (shared) implement it.
 */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the database is, for logs (never a password). */
  readonly location: string;
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs DDL (several statements). */
  exec(sql: string): Promise<void>;
  /** Runs `work` in one transaction, (SQLite: holding its write lock throughout). */
  transaction(work: (tx: SqlTransaction) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}
