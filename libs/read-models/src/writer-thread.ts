import { Worker } from 'node:worker_threads';
import type { ProjectedSession, ReadModelStore } from './read-model.store.js';
import type { WriterReply, WriterRequest } from './writer-thread.worker.js';

/** Applying batches, on a thread of its own. */
export type ReadModelWriter = Pick<ReadModelStore, 'apply' | 'close'>;

/**
 * The read models at `url` written by a worker thread: a bulk fold (the rebuild) parses and folds
 * events on its own thread while the SQL of the batch before is written on another core. Batches
 * are applied in the order given; each promise settles once its batch is stored, or with the
 * store's error.
 */
export async function startReadModelWriter(url: string): Promise<ReadModelWriter> {
  const worker = new Worker(new URL('./writer-thread.worker.js', import.meta.url), { workerData: { url } });
  const waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  let nextId = 1;
  let failed: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => waiting.set(0, { resolve, reject }));
  worker.on('message', ({ id, error }: WriterReply) => {
    const settle = waiting.get(id);
    waiting.delete(id);
    if (error) settle?.reject(new Error(error));
    else settle?.resolve();
  });
  const fail = (error: Error) => {
    failed ??= error;
    for (const settle of waiting.values()) settle.reject(failed);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the read-model writer thread exited (code ${code})`)));
  const send = (request: WriterRequest) =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed);
      waiting.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  await ready;
  return {
    apply: (batch: ProjectedSession[]) => send({ id: nextId++, batch }),
    close: async () => {
      await send({ id: nextId++, close: true }).catch(() => undefined);
      await worker.terminate();
    },
  };
}
