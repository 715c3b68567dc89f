/**
 * Who is at the other end: the connection's peer, or, behind `trustedProxies` reverse proxies, the
 * address the outermost of them was reached from, which is that many entries from the end of
 * X-Forwarded-For (each proxy appends its peer). Entries before those are the client's own say and
 * never taken. The rule of Koa's ctx.ip with app.proxy and app.maxIpsCount, which REST uses; sockets use this.
 */
export function clientAddress(peer: string, forwardedFor: string | string[] | undefined, trustedProxies: number): string {
  if (trustedProxies === 0 || !forwardedFor) return peer;
  const entries = [forwardedFor].flat().join(',').split(',').map((entry) => entry.trim());
  return entries.slice(-trustedProxies)[0] || peer;
}
