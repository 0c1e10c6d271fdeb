export * from './read-model.store.js';
export * from './read-models.env.js';
export * from './read-models.module.js';
