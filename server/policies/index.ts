export { authorize, requireReach, scopeOf, ForbiddenError, type Policy } from './policy.js';
export * as policies from './resources.js';
