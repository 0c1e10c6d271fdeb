import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SqlDriver, SqlTransaction, SqlValue } from './sql-driver.js';

/**
 * SQLite through better-sqlite3, in WAL mode so that query apps read while the projector writes.
 * Statements are prepared once per SQL text. Calls are synchronous underneath; a transaction is
 * BEGIN IMMEDIATE … COMMIT around the (synchronous) work, so no other process writes in between.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite';
  readonly location: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private transactions: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.location = path === ':memory:' ? path : resolve(path);
    if (path !== ':memory:') mkdirSync(dirname(this.location), { recursive: true });
    this.db = new Database(this.location);
    this.db.pragma('journal_mode = WAL');
    // The read models are rebuilt from the stream: a power cut may lose the last batches, never corrupt the file.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
  }

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return Promise.resolve(this.statement(sql).all(...params) as Row[]);
  }

  exec(sql: string): Promise<void> {
    this.db.exec(sql);
    this.statements.clear();
    return Promise.resolve();
  }

  /**
   * One connection holds one transaction at a time: transactions asked for while one runs (the
   * projector folds sessions concurrently) wait their turn rather than nest into it.
   */
  transaction(work: (tx: SqlTransaction) => Promise<void>): Promise<void> {
    const turn = this.transactions.then(() => this.runTransaction(work));
    this.transactions = turn.catch(() => undefined);
    return turn;
  }

  private async runTransaction(work: (tx: SqlTransaction) => Promise<void>): Promise<void> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      await work(this.tx);
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }

  private readonly tx: SqlTransaction = {
    all: (sql, params) => this.all(sql, params),
    exec: (sql) => this.exec(sql),
    run: (sql, params = []) => {
      this.statement(sql).run(...params);
      return Promise.resolve();
    },
    insert: (table, columns, rows, tail = '') => {
      const insert = this.statement(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${tail}`);
      for (const row of rows) insert.run(...row);
      return Promise.resolve();
    },
  };

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
