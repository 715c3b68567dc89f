/**
 * What the ingest bench sends: every request distinct, so each is a real write, and every one sent and
 * acknowledged kept for the database check at the end.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Server } from '../lib/child.js';
import { employeeOf } from '../lib/database.js';

export type Route = {
  /** As printed: "check-ins", "creates". */
  name: string;
  /** The hub it is sent to, its database (read for seqs and checked at the end), and the Authorization header it carries (none: a hub without auth). */
  hub: Server;
  db: pg.Client;
  authorization?: string;
  path: string;
  /** The event each request commits: transactions are counted by it (one transaction's events share created_at). */
  kind: string;
  /** A distinct body, and the key the ledger knows it by. */
  next(): { key: string; body: string };
  isAck(status: number): boolean;
  sent: Set<string>;
  acked: Set<string>;
  /** autocannon runs: each may leave one request per connection cut off, committed but unread. */
  runs: number;
};

/** A few error responses, to show what went wrong. */
export const errorSamples: string[] = [];

export function noteResponse(route: Route, status: number, key: string | undefined, body: string): void {
  if (route.isAck(status) && key) route.acked.add(key);
  else if (errorSamples.length < 5) errorSamples.push(`${route.path} ${status} ${body.slice(0, 200)}`);
}

/** `POST /api/v1/checkins`: a fresh eventId, employees in turn, `toggle` so each punch is valid whatever the state. */
export function checkinRoute(employees: number, via: { name: string; hub: Server; db: pg.Client; authorization?: string }): Route {
  let k = 0;
  const route: Route = {
    name: via.name,
    hub: via.hub,
    db: via.db,
    authorization: via.authorization,
    path: '/api/v1/checkins',
    kind: 'checkin.recorded',
    next() {
      const eventId = randomUUID();
      route.sent.add(eventId);
      const employeeId = employeeOf(k++, employees).employeeId;
      return { key: eventId, body: JSON.stringify({ employeeId, type: 'toggle', eventId }) };
    },
    isAck: (status) => status === 201,
    sent: new Set(),
    acked: new Set(),
    runs: 0,
  };
  return route;
}

const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2000, 0, 1);

/**
 * The older API's `POST /api/v1/attendance/create`: seeded employees in turn, a day later each time
 * round, so every (id, date) pair is new and each create is a real upsert of its own row.
 */
export function createRoute(employees: number, via: { hub: Server; db: pg.Client; authorization?: string }): Route {
  let k = 0;
  const route: Route = {
    name: 'creates',
    hub: via.hub,
    db: via.db,
    authorization: via.authorization,
    path: '/api/v1/attendance/create',
    kind: 'record.updated',
    next() {
      const { employeeId, g } = employeeOf(k, employees);
      const date = new Date(FIRST_DAY + Math.floor(k++ / employees) * DAY_MS).toISOString().slice(0, 10);
      const key = `${employeeId} ${date}`;
      route.sent.add(key);
      return { key, body: JSON.stringify({ id: employeeId, name: `Employee ${g}`, status: 'present', date }) };
    },
    // The older API answers 200; a 201 would do as well.
    isAck: (status) => status >= 200 && status < 300,
    sent: new Set(),
    acked: new Set(),
    runs: 0,
  };
  return route;
}
