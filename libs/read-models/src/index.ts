export * from './open-store.js';
export * from './read-model.store.js';
export * from './read-models.env.js';
export * from './read-models.module.js';
export * from './writer-thread.js';
