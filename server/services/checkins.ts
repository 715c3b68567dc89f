import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { v5 as uuidv5 } from 'uuid';
import {
  CheckinInput,
  type BatchItemResult,
  type CheckinListQuery,
} from '../../shared/schemas.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import type { Knex } from '../db/knex.js';
import { isUnavailable } from '../db/errors.js';
import { AppError, NotFoundError, toAppError, ValidationError } from '../errors.js';
import type { Publisher } from '../realtime/publisher.js';
import { createCheckinLedger } from '../repositories/checkinBatch.js';
import { listCheckins } from '../repositories/checkins.js';
import { findEmployeeByBadge } from '../repositories/employees.js';
import { fieldIssues } from '../validate.js';
import { commitPunches, type Punch, type PunchResult } from './checkinCommit.js';
import { createGroupCommitter } from './groupCommit.js';
import { createLatestPunches } from './latestPunches.js';
import type { PinChecker } from './pin.js';

export type { PunchResult as CheckinResult };

const MAX_GROUP = 1000;
const MAX_FUTURE_MS = 5 * 60_000;
// A PIN check is an scrypt hash on libuv's thread pool (four threads by default): a batch takes half,
// leaving the rest to live kiosks, file and DNS work.
const BATCH_PIN_CHECKS_AT_ONCE = 2;
// Idempotency-Key values map to eventIds in their own UUID namespace, so a retry finds the first punch.
const IDEMPOTENCY_NAMESPACE = '0b5c3f7e-5d2a-4c47-9a59-3f1a8c4e9d21';

export type CheckinService = ReturnType<typeof createCheckinService>;

export function createCheckinService(deps: { db: Knex; cache: Cache; publisher: Publisher; pins: PinChecker; longestShiftMs: number }) {
  const { db, cache, publisher, pins, longestShiftMs } = deps;

  const ledger = createCheckinLedger(db);
  const latest = createLatestPunches();
  const committer = createGroupCommitter<Punch, PunchResult>(
    async (punches) => {
      const { results, events, sites } = await commitPunches(ledger, punches, longestShiftMs, latest);
      return {
        results,
        // Committed: make reads see it before anyone is told, then tell the dashboards.
        after: async () => {
          await cache.invalidate([...sites].map(cacheKeys.presence));
          publisher.publish(events);
        },
      };
    },
    // A group that fails for a reason other than the database being away is retried apart, so a punch
    // PostgreSQL refuses fails alone and the rest of its group is stored.
    // One that fails because the database is away fails the punches waiting behind it at once.
    { maxBatch: MAX_GROUP, idle: ledger.release, retryApart: (err) => !isUnavailable(err), failWaiting: isUnavailable },
  );

  /** Validated input → a punch: identity resolved (badge + PIN), eventId and time fixed. */
  async function toPunch(input: CheckinInput, idempotencyKey?: string, identify = employeeIdForBadge): Promise<Punch> {
    const keyed = idempotencyKey === undefined ? undefined : uuidv5(idempotencyKey, IDEMPOTENCY_NAMESPACE);
    if (keyed && input.eventId && keyed !== input.eventId) {
      throw new AppError(400, 'idempotency_key_mismatch', 'Idempotency-Key and eventId name different check-ins; send one of them');
    }
    const occurredAt = new Date(input.occurredAt ?? Date.now());
    if (occurredAt.getTime() > Date.now() + MAX_FUTURE_MS) {
      throw new AppError(400, 'occurred_in_future', 'occurredAt is more than 5 minutes in the future');
    }
    return {
      eventId: input.eventId ?? keyed ?? randomUUID(),
      employeeId: input.employeeId ?? (await identify(input.badge!, input.pin)),
      siteId: input.siteId,
      deviceId: input.deviceId ?? null,
      type: input.type,
      occurredAt: occurredAt.toISOString(),
    };
  }

  async function employeeIdForBadge(badge: string, pin: string | undefined): Promise<string> {
    const employee = await findEmployeeByBadge(db, badge);
    if (!employee) throw new NotFoundError('unknown_badge', 'no employee has this badge');
    if (employee.pinHash && !(pin !== undefined && (await pins.verify(badge, pin, employee.pinHash)))) {
      throw new AppError(401, 'invalid_pin', 'the PIN is missing or wrong');
    }
    return employee.id;
  }

  return {
    /** Store one punch; resolves after its transaction commits. A retry returns the stored check-in (created: false). */
    async record(input: CheckinInput, idempotencyKey?: string): Promise<PunchResult> {
      const [result] = await committer.submit([await toPunch(input, idempotencyKey)]);
      if (result instanceof Error) throw result;
      return result!;
    },

    /**
     * Offline sync: every valid punch of the batch is stored in one transaction, judged in occurredAt
     * order; invalid ones are reported per item and not stored.
     */
    async recordBatch(items: unknown[]): Promise<BatchItemResult[]> {
      // Each (badge, PIN) of the batch is checked once, however many items repeat it, and a few at a time.
      const limit = pLimit(BATCH_PIN_CHECKS_AT_ONCE);
      const identities = new Map<string, Promise<string>>();
      const identify = (badge: string, pin: string | undefined) => {
        const key = JSON.stringify([badge, pin]);
        let id = identities.get(key);
        if (!id) identities.set(key, (id = limit(() => employeeIdForBadge(badge, pin))));
        return id;
      };
      const prepared = await Promise.all(
        items.map(async (raw): Promise<Punch | BatchItemResult> => {
          const eventId = typeof (raw as { eventId?: unknown })?.eventId === 'string' ? (raw as { eventId: string }).eventId : null;
          const parsed = CheckinInput.safeParse(raw);
          if (!parsed.success) return rejected(eventId, new ValidationError(fieldIssues(parsed.error)));
          return toPunch(parsed.data, undefined, identify).catch((err: unknown) => rejected(eventId, err));
        }),
      );
      const punches = prepared.filter((p): p is Punch => !('status' in p));
      const results = await committer.submit(punches);
      let next = 0;
      return prepared.map((p) => {
        if ('status' in p) return p;
        const r = results[next++]!;
        if (r instanceof Error) return rejected(p.eventId, r);
        return { eventId: r.checkin.eventId, status: r.created ? 'created' : 'duplicate', data: r.checkin };
      });
    },

    list: (query: CheckinListQuery) => listCheckins(db, query),
    /** Every committed event, this node's and others', in seq order: keeps what is known of latest punches current. */
    observe: latest.observe,
    drain: () => committer.drain(),
  };
}

/** An item refused for its own sake; a database that is away fails the whole batch (503), which the kiosk retries as it is. */
function rejected(eventId: string | null, err: unknown): BatchItemResult {
  const error = toAppError(err);
  if (error.status >= 500) throw error;
  return { eventId, status: 'rejected', error: error.body() };
}
