/**
 * Tests that need Redis call this first: without REDIS_URL they are pending with the reason, except
 * in CI (CI=true), where a missing Redis must fail the run rather than pass it quietly.
 */
let warned = false;

export function requireRedis(ctx: Mocha.Context): string {
  const url = process.env.REDIS_URL;
  if (url) return url;
  if (process.env.CI === 'true') throw new Error('REDIS_URL is not set, and CI=true requires the Redis tests to run');
  if (!warned) console.warn('  (REDIS_URL is not set: tests that need Redis are pending)');
  warned = true;
  ctx.skip();
}

export function uniquePrefix(label: string): string {
  return `test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
