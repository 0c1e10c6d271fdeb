export * from './limits.js';
export * from './subjects.js';
export * from './fields.js';
export * from './events.js';
export * from './views.js';
export * from './tools.js';
export * from './json-schemas.js';
