export * from './errors.js';
export * from './fingerprint.js';
export * from './text.js';
export * from './session.decider.js';
export * from './session.projection.js';
export * from './policy.js';
export * from './session-access.js';
