let turn: Promise<void> | undefined;

/**
 * Resolves once this turn of the event loop has read what was ready (its check phase), with the same
 * promise for every caller in the turn: publishes issued right after it leave in one socket write,
 * as the NATS client sends all it was given in one microtask checkpoint. Each write is a system
 * call; calls read from many sockets in one turn (HTTP agents) then share one.
 */
export function endOfTurn(): Promise<void> {
  return (turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  ));
}
