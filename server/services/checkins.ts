import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { v5 as uuidv5 } from 'uuid';
import {
  CheckinInput,
  type BatchItemResult,
  type Checkin,
  type CheckinListQuery,
  type CorrectionInput,
  type VoidInput,
} from '../../shared/schemas.js';
import type { Knex } from '../db/knex.js';
import { AppError, NotFoundError, toAppError, ValidationError } from '../errors.js';
import { exportCheckins, findCheckin, listCheckins } from '../repositories/checkins.js';
import type { CheckinExportQuery } from '../../shared/bulk.js';
import { requireDayRange } from './dayRange.js';
import type { Actor, Role, Scope, Who } from '../auth/actor.js';
import { requireReach } from '../policies/index.js';
import { findEmployeeByBadge, findPinHolder } from '../repositories/employees.js';
import { punchesNeedPin } from '../policies/resources.js';
import { fieldIssues } from '../validate.js';
import type { Recorder } from '../metrics/index.js';
import type { Authority, Ledger, Punch, PunchResult } from './ledger/index.js';
import type { PinChecker } from './pin.js';

export type { PunchResult as CheckinResult };
const MAX_FUTURE_MS = 5 * 60_000;
const EXPORT_PAGE = 1000;
// A PIN check is an scrypt hash on libuv's thread pool (four threads by default): a batch takes half,
// leaving the rest to live kiosks, file and DNS work.
const BATCH_PIN_CHECKS_AT_ONCE = 2;
// Idempotency-Key values map to eventIds in their own UUID namespace, so a retry finds the first punch.
const IDEMPOTENCY_NAMESPACE = '0b5c3f7e-5d2a-4c47-9a59-3f1a8c4e9d21';

export type CheckinService = ReturnType<typeof createCheckinService>;

/** Who punches: the sites in reach and who they are for the audit log, whether they must prove an employee's PIN, and whether site geofences hold them. */
export type Puncher = Authority & { role: Role; geofenceExempt: boolean };

export const puncherOf = (actor: Actor, who: Who): Puncher => ({ scope: actor.sites, who, role: actor.role, geofenceExempt: actor.geofenceExempt === true });

export function createCheckinService(deps: { db: Knex; ledger: Ledger; pins: PinChecker; metrics: Pick<Recorder, 'checkin'> }) {
  const { db, ledger, pins, metrics } = deps;

  /** Each punch's result: its check-in, or the Error that refused it. */
  const commit = (punches: Punch[]) => ledger.submit(punches.map((punch) => ({ punch }))) as Promise<Array<PunchResult | Error>>;

  /** Validated input → a punch: identity resolved (badge + PIN), eventId and time fixed. */
  async function toPunch(input: CheckinInput, by: Puncher, idempotencyKey?: string, identify = (badge: string, pin?: string) => employeeIdForBadge(badge, pin, by.scope)): Promise<Punch> {
    const keyed = idempotencyKey === undefined ? undefined : uuidv5(idempotencyKey, IDEMPOTENCY_NAMESPACE);
    if (keyed && input.eventId && keyed !== input.eventId) {
      throw new AppError(400, 'idempotency_key_mismatch', 'Idempotency-Key and eventId name different check-ins; send one of them');
    }
    const occurredAt = notInFuture(input.occurredAt);
    // A badge proves its PIN before it is judged; so does an employee id sent with one. An id sent
    // without one is refused in the judge if the employee has a PIN and the puncher must prove it.
    const proved = input.badge !== undefined || input.pin !== undefined;
    if (input.employeeId !== undefined && input.pin !== undefined) await checkPin(input.employeeId, input.pin, by.scope);
    return {
      eventId: input.eventId ?? keyed ?? randomUUID(),
      employeeId: input.employeeId ?? (await identify(input.badge!, input.pin)),
      siteId: input.siteId,
      deviceId: input.deviceId ?? null,
      type: input.type,
      occurredAt: occurredAt.toISOString(),
      needsPin: !proved && punchesNeedPin.includes(by.role),
      location: input.location,
      geofenceExempt: by.geofenceExempt,
      scope: by.scope,
      who: by.who,
    };
  }

  /**
   * An employee id with a PIN: right if the employee has that PIN (counted against guessing like a
   * badge's). Only for an employee in reach: elsewhere the answer would tell a wrong PIN from a right
   * one, and wrong guesses would lock another site's employee out.
   */
  async function checkPin(employeeId: string, pin: string, scope: Scope): Promise<void> {
    const holder = await findPinHolder(db, employeeId);
    if (holder) requireReach(scope, holder.siteId, `employee ${employeeId} is at another site`);
    if (!holder?.pinHash || !(await pins.verify(`employee:${employeeId}`, pin, holder.pinHash))) throw new AppError(401, 'invalid_pin', 'the PIN is missing or wrong');
  }

  async function employeeIdForBadge(badge: string, pin: string | undefined, scope: Scope): Promise<string> {
    const employee = await findEmployeeByBadge(db, badge);
    if (!employee) throw new NotFoundError('unknown_badge', 'no employee has this badge');
    requireReach(scope, employee.siteId, 'this badge belongs to another site');
    if (employee.pinHash && !(pin !== undefined && (await pins.verify(badge, pin, employee.pinHash)))) {
      throw new AppError(401, 'invalid_pin', 'the PIN is missing or wrong');
    }
    return employee.id;
  }

  /** Each item of a batch judged: the valid punches committed together, the rest rejected on their own. */
  async function judgeBatch(items: unknown[], by: Puncher): Promise<BatchItemResult[]> {
    // Each (badge, PIN) of the batch is checked once, however many items repeat it, and a few at a time.
    const limit = pLimit(BATCH_PIN_CHECKS_AT_ONCE);
    const identities = new Map<string, Promise<string>>();
    const identify = (badge: string, pin: string | undefined) => {
      const key = JSON.stringify([badge, pin]);
      let id = identities.get(key);
      if (!id) identities.set(key, (id = limit(() => employeeIdForBadge(badge, pin, by.scope))));
      return id;
    };
    const prepared = await Promise.all(
      items.map(async (raw): Promise<Punch | BatchItemResult> => {
        const eventId = typeof (raw as { eventId?: unknown })?.eventId === 'string' ? (raw as { eventId: string }).eventId : null;
        const parsed = CheckinInput.safeParse(raw);
        if (!parsed.success) return rejected(eventId, new ValidationError(fieldIssues(parsed.error)));
        return toPunch(parsed.data, by, undefined, identify).catch((err: unknown) => rejected(eventId, err));
      }),
    );
    const punches = prepared.filter((p): p is Punch => !('status' in p));
    const results = await commit(punches);
    let next = 0;
    return prepared.map((p) => {
      if ('status' in p) return p;
      const r = results[next++]!;
      if (r instanceof Error) return rejected(p.eventId, r);
      return { eventId: r.checkin.eventId, status: r.created ? 'created' : 'duplicate', data: r.checkin };
    });
  }

  return {
    /** Store one punch; resolves after its transaction commits. A retry returns the stored check-in (created: false). */
    async record(input: CheckinInput, by: Puncher, idempotencyKey?: string): Promise<PunchResult> {
      try {
        const [result] = await commit([await toPunch(input, by, idempotencyKey)]);
        if (result instanceof Error) throw result;
        metrics.checkin(result!.created ? 'accepted' : 'duplicate');
        return result!;
      } catch (err) {
        metrics.checkin('rejected', toAppError(err).code);
        throw err;
      }
    },

    /**
     * Offline sync: every valid punch of the batch is stored in one transaction, judged in occurredAt
     * order; invalid ones are reported per item and not stored.
     */
    async recordBatch(items: unknown[], by: Puncher): Promise<BatchItemResult[]> {
      try {
        const results = await judgeBatch(items, by);
        for (const r of results) metrics.checkin(r.status === 'created' ? 'accepted' : r.status, r.error?.code);
        return results;
      } catch (err) {
        // The whole batch failed (the database is away): every punch of it is refused alike.
        const { code } = toAppError(err);
        for (let i = 0; i < items.length; i++) metrics.checkin('rejected', code);
        throw err;
      }
    },

    /**
     * A manager's punch on an employee's behalf (a forgotten check-out), with why: judged by the same
     * rules as any punch, on the timeline as it stands. A retry with the same eventId answers the stored one.
     */
    async correct(input: CorrectionInput, by: Authority): Promise<PunchResult> {
      const [result] = await commit([
        {
          eventId: input.eventId ?? randomUUID(),
          employeeId: input.employeeId,
          siteId: input.siteId,
          deviceId: null,
          type: input.type,
          occurredAt: notInFuture(input.occurredAt).toISOString(),
          needsPin: false,
          reason: input.reason,
          scope: by.scope,
          who: by.who,
        },
      ]);
      if (result instanceof Error) throw result;
      return result!;
    },

    /** Void a check-in: it stays, marked with who and why; the rules judge the timeline without it, in the same transaction. */
    async void(eventId: string, input: VoidInput, by: Authority): Promise<Checkin> {
      const stored = await findCheckin(db, eventId);
      if (!stored) throw new NotFoundError('checkin_not_found', `no check-in with eventId ${eventId}`);
      const [result] = await ledger.submit([{ void: { eventId, employeeId: stored.employeeId, occurredAt: stored.occurredAt, reason: input.reason }, ...by }]);
      if (result instanceof Error) throw result;
      return (result as { voided: Checkin }).voided;
    },

    /** Check-ins of a date range, voided ones marked, for an export: streamed in seq order from the sites in reach. */
    export(query: CheckinExportQuery, scope: Scope): AsyncGenerator<Checkin> {
      if (query.siteId !== undefined) requireReach(scope, query.siteId, `site ${query.siteId} is not one of yours`);
      requireDayRange(query.from, query.to, 'an export');
      return exportCheckins(db, { from: query.from, to: query.to, siteId: query.siteId, scope, pageSize: EXPORT_PAGE });
    },

    /** Check-ins at the sites in reach (those at no site: admins only); naming a site out of reach is refused. */
    list(query: CheckinListQuery, scope: Scope) {
      if (query.siteId !== undefined) requireReach(scope, query.siteId, `site ${query.siteId} is not one of yours`);
      return listCheckins(db, query, scope);
    },
  };
}

/** A punch's time: now if not given; never more than a few minutes ahead of this node's clock. */
function notInFuture(occurredAt: string | undefined): Date {
  const at = new Date(occurredAt ?? Date.now());
  if (at.getTime() > Date.now() + MAX_FUTURE_MS) throw new AppError(400, 'occurred_in_future', 'occurredAt is more than 5 minutes in the future');
  return at;
}

/** An item refused for its own sake; a database that is away fails the whole batch (503), which the kiosk retries as it is. */
function rejected(eventId: string | null, err: unknown): BatchItemResult {
  const error = toAppError(err);
  if (error.status >= 500) throw error;
  return { eventId, status: 'rejected', error: error.body() };
}
