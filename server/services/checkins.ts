import { randomUUID } from 'node:crypto';
import type { Checkin, CheckinInput, CheckinListQuery } from '../../shared/schemas.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { listCheckins, findCheckinsByEventIds, insertCheckins } from '../repositories/checkins.js';
import { findEmployeeRefs } from '../repositories/employees.js';
import { advanceHead, insertEvents, lockHead, type HubEvent } from '../repositories/events.js';
import { existingSiteIds } from '../repositories/sites.js';
import type { Publisher } from '../realtime/publisher.js';
import { createGroupCommitter } from './groupCommit.js';

export type CheckinResult = { checkin: Checkin; created: boolean };

type Punch = Omit<Checkin, 'seq' | 'recordedAt' | 'siteId'> & { siteId?: string };

const MAX_BATCH = 500;

export type CheckinService = ReturnType<typeof createCheckinService>;

export function createCheckinService(deps: { db: Knex; publisher: Publisher }) {
  const { db, publisher } = deps;

  /** One transaction for a whole group of punches: lock the seq head, judge each, insert the valid ones. */
  async function commitBatch(punches: Punch[]): Promise<Array<CheckinResult | Error>> {
    const { results, events } = await inTransaction(db, async (trx) => {
      let { head, now } = await lockHead(trx);
      // One connection runs one query at a time: these are sequential either way.
      const employees = await findEmployeeRefs(trx, unique(punches.map((p) => p.employeeId)));
      const sites = await existingSiteIds(trx, unique(punches.flatMap((p) => (p.siteId ? [p.siteId] : []))));
      const stored = await findCheckinsByEventIds(trx, unique(punches.map((p) => p.eventId)));
      const results: Array<CheckinResult | Error> = [];
      const fresh: Checkin[] = [];
      for (const p of punches) {
        const known = stored.get(p.eventId);
        if (known) {
          results.push({ checkin: known, created: false });
          continue;
        }
        const employee = employees.get(p.employeeId);
        if (!employee) {
          results.push(new NotFoundError('unknown_employee', `no employee with id ${p.employeeId}`));
          continue;
        }
        if (p.siteId && !sites.has(p.siteId)) {
          results.push(new NotFoundError('unknown_site', `no site with id ${p.siteId}`));
          continue;
        }
        const checkin: Checkin = {
          seq: ++head,
          eventId: p.eventId,
          employeeId: p.employeeId,
          siteId: p.siteId ?? employee.siteId,
          deviceId: p.deviceId,
          type: p.type,
          occurredAt: p.occurredAt,
          recordedAt: now.toISOString(),
        };
        fresh.push(checkin);
        stored.set(p.eventId, checkin);
        results.push({ checkin, created: true });
      }
      const events: HubEvent[] = fresh.map((c) => ({
        seq: c.seq,
        kind: 'checkin.recorded',
        siteId: c.siteId,
        employeeId: c.employeeId,
        data: c,
      }));
      if (fresh.length) {
        await insertEvents(trx, events);
        await insertCheckins(trx, fresh);
        await advanceHead(trx, head);
      }
      return { results, events };
    });
    publisher.publish(events);
    return results;
  }

  const committer = createGroupCommitter(commitBatch, MAX_BATCH);

  return {
    /** Store one punch; resolves after its transaction commits. A known eventId returns the stored check-in. */
    async record(input: CheckinInput): Promise<CheckinResult> {
      const result = await committer.submit({
        eventId: input.eventId ?? randomUUID(),
        employeeId: input.employeeId,
        siteId: input.siteId,
        deviceId: input.deviceId ?? null,
        type: input.type,
        occurredAt: new Date(input.occurredAt ?? Date.now()).toISOString(),
      });
      if (result.created) return result;
      const same = result.checkin.employeeId === input.employeeId && result.checkin.type === input.type;
      if (!same) throw new AppError(409, 'event_id_conflict', `eventId ${result.checkin.eventId} was already used for another check-in`);
      return result;
    },
    list: (query: CheckinListQuery) => listCheckins(db, query),
    drain: () => committer.drain(),
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
