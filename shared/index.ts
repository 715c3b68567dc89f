export * from './schemas.js';
export * from './events.js';
export * from './reports.js';
export * from './directory.js';
export * from './auth.js';
