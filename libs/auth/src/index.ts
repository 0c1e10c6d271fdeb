export * from './auth.env.js';
export * from './key-ring.js';
export * from './key-ring.module.js';
export * from './policy.source.js';
export * from './policy-source.module.js';
export * from './watched-json-file.js';
export * from './listen.js';
