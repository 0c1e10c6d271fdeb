export * from './bootstrap.js';
export * from './config.js';
export * from './env.js';
export * from './logging.js';
export * from './plain-request.deserializer.js';
export * from './zod-payload.pipe.js';
export * from './json-file.js';
