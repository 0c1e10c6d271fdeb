import type { RefusalCode } from '#contracts';

/** A command the session's rules refuse. `code` is stable: clients and the gateway key on it. */
export abstract class DomainError extends Error {
  abstract readonly code: RefusalCode;
}

export class SessionNotFound extends DomainError {
  readonly code = 'SESSION_NOT_FOUND' as const;
  constructor(readonly sessionId: string) {
    super(`Your grant has no session "${sessionId}": start it with record_session_start first (session ids are scoped to the grant that started them).`);
  }
}

export class SessionIdConflict extends DomainError {
  readonly code = 'SESSION_ID_CONFLICT' as const;
  constructor(readonly sessionId: string) {
    super(
      `Session "${sessionId}" already exists and was started with different content: ` +
        'choose another session_id, or repeat the original start call exactly.',
    );
  }
}

export class SessionFinishedError extends DomainError {
  readonly code = 'SESSION_FINISHED' as const;
  constructor(readonly sessionId: string) {
    super(`Session "${sessionId}" is finished: no more outcomes can be recorded in it.`);
  }
}

export class SessionAlreadyFinished extends DomainError {
  readonly code = 'SESSION_ALREADY_FINISHED' as const;
  constructor(readonly sessionId: string) {
    super(`Session "${sessionId}" is already finished with a different summary.`);
  }
}

export class OutcomeConflict extends DomainError {
  readonly code = 'OUTCOME_CONFLICT' as const;
  constructor(
    readonly sessionId: string,
    nodeid: string,
    when: string,
    attempt: number,
    recorded: string,
    nextAttempt: number,
  ) {
    super(
      `${nodeid} (${when}, attempt ${attempt}) is already recorded in session "${sessionId}" as ${recorded} ` +
        `with other details: to record a rerun, pass attempt: ${nextAttempt}.`,
    );
  }
}

/** One item of a record_test_outcomes call was refused, so the whole call is: named by its index, with the item's own code. */
export class OutcomeItemRefused extends DomainError {
  readonly code: RefusalCode;
  constructor(
    readonly index: number,
    refusal: DomainError,
  ) {
    super(`outcomes.${index}: ${refusal.message}`, { cause: refusal });
    this.code = refusal.code;
  }
}

export class SessionAccessDenied extends DomainError {
  readonly code = 'SESSION_ACCESS_DENIED' as const;
  constructor(reader: string, owner: string) {
    super(`Grant "${reader}" may not read sessions of grant "${owner}": the policy gives it sessions.read "own".`);
  }
}
