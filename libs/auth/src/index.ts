export * from './auth.env.js';
export * from './key-ring.js';
export * from './policy.source.js';
export * from './watched-json-file.js';
export * from './listen.js';
