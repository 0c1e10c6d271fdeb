/** A command the session's rules refuse. `code` is stable: clients and the gateway key on it. */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class SessionNotFound extends DomainError {
  readonly code = 'SESSION_NOT_FOUND';
  constructor(readonly sessionId: string) {
    super(`Session "${sessionId}" does not exist: start it with record_session_start first.`);
  }
}

export class SessionIdConflict extends DomainError {
  readonly code = 'SESSION_ID_CONFLICT';
  constructor(readonly sessionId: string) {
    super(
      `Session "${sessionId}" already exists and was started with different content: ` +
        'choose another session_id, or repeat the original start call exactly.',
    );
  }
}

export class SessionFinishedError extends DomainError {
  readonly code = 'SESSION_FINISHED';
  constructor(readonly sessionId: string) {
    super(`Session "${sessionId}" is finished: no more outcomes can be recorded in it.`);
  }
}

export class SessionAlreadyFinished extends DomainError {
  readonly code = 'SESSION_ALREADY_FINISHED';
  constructor(readonly sessionId: string) {
    super(`Session "${sessionId}" is already finished with a different summary.`);
  }
}

export class OutcomeConflict extends DomainError {
  readonly code = 'OUTCOME_CONFLICT';
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
