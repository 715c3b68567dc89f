export * from './schemas.js';
export * from './events.js';
