export * from './connect.js';
export * from './env.js';
export * from './provision.js';
export * from './replicas.js';
export * from './nats.module.js';
export * from './read-subject.js';
export * from './jetstream-errors.js';
export * from './approvals.js';
