// The worker of startReadModelWriter: applies the batches it is sent, in order, to the store at workerData.url.
import { parentPort, workerData } from 'node:worker_threads';
import { openReadModelStore } from './open-store.js';
import type { ProjectedSession } from './read-model.store.js';

export type WriterRequest = { id: number; batch: ProjectedSession[] } | { id: number; close: true };
export interface WriterReply {
  id: number;
  error?: string;
}

const port = parentPort!;
const store = await openReadModelStore((workerData as { url: string }).url);
let turn = Promise.resolve();
port.on('message', (request: WriterRequest) => {
  turn = turn.then(async () => {
    const reply: WriterReply = { id: request.id };
    try {
      if ('close' in request) await store.close();
      else await store.apply(request.batch);
    } catch (error) {
      reply.error = error instanceof Error ? error.message : String(error);
    }
    port.postMessage(reply);
    if ('close' in request) port.close();
  });
});
port.postMessage({ id: 0 } satisfies WriterReply);
