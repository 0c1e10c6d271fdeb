import pg from 'pg';
import type { SqlDriver, SqlTransaction, SqlValue } from './sql-driver.js';

/** PostgreSQL caps the parameters of one statement at 65,535. */
const MAX_PARAMS = 65_535;

// BIGINT (stream sequences, counts) as numbers: they stay far below 2^53.
const INT8: number = pg.types.builtins.INT8;
const types = {
  getTypeParser: ((oid: number, format?: string): unknown =>
    oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** PostgreSQL through a `pg` pool; `?` placeholders become `$1…`. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres';
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly numbered = new Map<string, string>();

  constructor(url: string) {
    const shown = new URL(url);
    shown.password = '';
    this.location = shown.toString();
    this.pool = new pg.Pool({ connectionString: url, max: 8, types });
    // An idle client losing its connection must not crash the app; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const result = await this.pool.query({ text: this.numberedSql(sql), values: params as SqlValue[] });
    return result.rows as Row[];
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction(work: (tx: SqlTransaction) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    const run = async (sql: string, params: readonly SqlValue[] = []) => {
      await client.query({ text: this.numberedSql(sql), values: params as SqlValue[] });
    };
    const tx: SqlTransaction = {
      all: async <Row>(sql: string, params: readonly SqlValue[] = []) =>
        (await client.query({ text: this.numberedSql(sql), values: params as SqlValue[] })).rows as Row[],
      exec: async (sql) => {
        await client.query(sql);
      },
      run,
      insert: async (table, columns, rows, tail = '') => {
        const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
        for (let start = 0; start < rows.length; start += perStatement) {
          const chunk = rows.slice(start, start + perStatement);
          const values = chunk.map((_, row) => `(${columns.map((_, column) => `$${row * columns.length + column + 1}`).join(', ')})`);
          await client.query({ text: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')} ${tail}`, values: chunk.flat() });
        }
      },
    };
    try {
      await client.query('BEGIN');
      await work(tx);
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  private numberedSql(sql: string): string {
    let numbered = this.numbered.get(sql);
    if (numbered === undefined) {
      let n = 0;
      numbered = sql.replace(/\?/g, () => `$${++n}`);
      this.numbered.set(sql, numbered);
    }
    return numbered;
  }
}
