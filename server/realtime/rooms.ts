import type { HubIo } from './server.js';

/** Room names, built in one place: delivery and the subscribe handler must agree on them. */
export const rooms = {
  all: 'all',
  site: (siteId: string) => `site:${siteId}`,
  employee: (employeeId: string) => `employee:${employeeId}`,
};

/** Sockets being sent a replay: live events for them wait in their queue. */
export const REPLAYING = 'replaying';

/** The rooms an event about this site and employee reaches; a socket in several of them gets it once. */
export function roomsFor(siteId: string | null, employeeId: string | null): string[] {
  const names = [rooms.all];
  if (siteId) names.push(rooms.site(siteId));
  if (employeeId) names.push(rooms.employee(employeeId));
  return names;
}

/** The rooms a subscription joins: no filter means every event. */
export function roomsForFilter(filter: { sites?: string[]; employees?: string[] }): string[] {
  if (filter.sites === undefined && filter.employees === undefined) return [rooms.all];
  return [...(filter.sites ?? []).map(rooms.site), ...(filter.employees ?? []).map(rooms.employee)];
}

/** This node's sockets, and those of them subscribed (in a room beside their own). */
export function socketCounts(io: HubIo): { connected: number; subscribed: number } {
  const sockets = io.of('/').sockets;
  let subscribed = 0;
  for (const socket of sockets.values()) if (socket.rooms.size > 1) subscribed++;
  return { connected: sockets.size, subscribed };
}
