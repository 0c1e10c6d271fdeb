export * from './read-model.store.js';
