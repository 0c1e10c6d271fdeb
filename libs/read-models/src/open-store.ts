import type { ReadModelStore } from './read-model.store.js';
import { PostgresDriver } from './sql/postgres.driver.js';
import { SqliteDriver } from './sql/sqlite.driver.js';
import { SqlReadModels } from './sql/sql-read-models.js';

/** Opens (and migrates) the read-model store that READ_MODEL_URL names: `sqlite:PATH` or `postgres://…`. */
export async function openReadModelStore(url: string): Promise<ReadModelStore> {
  const store = new SqlReadModels(driverFor(url));
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new Error(`READ_MODEL_URL: cannot open the read models at ${store.location}: ${(error as Error).message}`, { cause: error });
  }
  return store;
}

function driverFor(url: string) {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) throw new Error('READ_MODEL_URL: `sqlite:` needs a file path, e.g. sqlite:./.data/read-models.sqlite');
    return new SqliteDriver(path);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresDriver(url);
  throw new Error(`READ_MODEL_URL: "${url}" is neither sqlite:PATH nor postgres://user@host:5432/db`);
}
