export * from './metrics.module.js';
export * from './metrics-endpoint.js';
