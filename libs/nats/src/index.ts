export * from './connect.js';
export * from './env.js';
export * from './provision.js';
export * from './nats.module.js';
