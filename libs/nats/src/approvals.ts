import type { JetStreamManager } from '@nats-io/jetstream';
import { APPROVALS_STREAM, ApprovalEvent, approvalSubject } from '#contracts';
import { isNotFound } from './jetstream-errors.js';

export interface StoredApprovalEvent {
  seq: number;
  event: ApprovalEvent;
}

/**
 * An approval's last event — its state, and the stream sequence a decision must follow — or
 * undefined when there is no such approval. A stored message that is not an approval event throws.
 */
export async function lastApprovalEvent(jsm: JetStreamManager, id: string): Promise<StoredApprovalEvent | undefined> {
  try {
    const message = await jsm.direct.getMessage(APPROVALS_STREAM, { last_by_subj: approvalSubject(id) });
    return message ? { seq: message.seq, event: ApprovalEvent.parse(message.json()) } : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
