import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/** JetStream refused a write because its expected last (subject) sequence no longer holds. */
export const isWrongLastSequence = (error: unknown): error is JetStreamApiError =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/** The stream or consumer asked for does not exist. */
export const isNotFound = (error: unknown): error is JetStreamApiError =>
  error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound);

/** JetStream in a cluster refuses while a stream's or the meta group's leader is being elected (err_code 10008). */
export const isTemporarilyUnavailable = (error: unknown): boolean => error instanceof JetStreamApiError && error.code === 10008;

/** A stream of that name exists already (err_code 10058, which the client names no constant for). */
export const isStreamNameInUse = (error: unknown): boolean => error instanceof JetStreamApiError && error.code === 10058;

/** No JetStream answered the request (no responders): a node of a cluster just formed, or JetStream off (the client's JetStreamNotEnabled, which it does not export). */
export const isJetStreamNotAnswering = (error: unknown): boolean => error instanceof Error && error.name === 'JetStreamNotEnabled';
