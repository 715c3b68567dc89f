import assert from 'node:assert/strict';
import type { Checkin } from '../shared/schemas.js';
import { AppError } from '../server/errors.js';
import type { GroupState } from '../server/repositories/ledger.js';
import { insertPunch, judgeGroup, judgePunch, takeOutMisfits, type GroupItem, type Punch, type TimelinePunch } from '../server/services/ledger/judge.js';

const H = 3600_000;
const L = 16 * H;
/** An admin's authority: every site; the audit log's who. */
const ADMIN = { scope: 'all' as const, who: { actorKind: 'token' as const, actorId: 'test', actorRole: 'admin' as const, ip: null, requestId: null } };
const T0 = Date.parse('2026-11-20T00:00:00.000Z');
const at = (hours: number) => new Date(T0 + hours * H).toISOString();

/** A stored check-in of employee A at `hours` after T0. */
const stored = (seq: number, type: 'in' | 'out', hours: number, more: Partial<Checkin> = {}): Checkin => ({
  seq,
  eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
  employeeId: 'A',
  siteId: 'S1',
  deviceId: null,
  type,
  occurredAt: at(hours),
  recordedAt: at(hours),
  ...more,
});

/** The state a group is judged in: employees A (site S1) and Z (inactive), sites S1 and S0 (closed), A's stored punches. */
function state(timeline: Checkin[] = [], more: Partial<GroupState> = {}): GroupState {
  return {
    head: 100,
    now: new Date(T0 + 24 * H),
    employees: new Map([
      ['A', { id: 'A', siteId: 'S1', active: true, hasPin: false }],
      ['B', { id: 'B', siteId: null, active: true, hasPin: false }],
      ['Z', { id: 'Z', siteId: 'S1', active: false, hasPin: false }],
      ['P', { id: 'P', siteId: 'S2', active: true, hasPin: true }],
    ]),
    sites: new Map([
      ['S1', { active: true, geofence: null }],
      ['S2', { active: true, geofence: null }],
      ['S0', { active: false, geofence: null }],
    ]),
    known: new Map(timeline.map((c) => [c.eventId, c])),
    timelines: new Map([['A', timeline]]),
    ...more,
  };
}

let n = 0;
const punch = (type: Punch['type'], hours: number, more: Partial<Punch> = {}): GroupItem => ({
  punch: { eventId: `10000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, employeeId: 'A', deviceId: null, type, occurredAt: at(hours), needsPin: false, ...ADMIN, ...more },
});

/** Each item's outcome as a word: the stored type, `duplicate`, or the error code. */
function outcomes(items: GroupItem[], s = state()) {
  const judged = judgeGroup(items, s, L);
  const words = judged.results.map((r) => {
    if (r instanceof AppError) return r.code;
    if (r instanceof Error) throw r;
    if ('record' in r) return 'record';
    if ('voided' in r) return 'voided';
    return r.created ? r.checkin.type : 'duplicate';
  });
  return { words, judged };
}

describe('the check-in judge (pure: no database, no clock)', () => {
  describe('one open check-in per employee, judged in time order', () => {
    const cases: Array<[string, Checkin[], GroupItem[], string[]]> = [
      ['in when out', [], [punch('in', 8)], ['in']],
      ['out when in', [stored(1, 'in', 8)], [punch('out', 16)], ['out']],
      ['in while in', [stored(1, 'in', 8)], [punch('in', 9)], ['already_checked_in']],
      ['out while out', [], [punch('out', 9)], ['not_checked_in']],
      ['out after a closed session', [stored(1, 'in', 8), stored(2, 'out', 9)], [punch('out', 10)], ['not_checked_in']],
      ['toggle when out is an in', [], [punch('toggle', 8)], ['in']],
      ['toggle when in is an out', [stored(1, 'in', 8)], [punch('toggle', 9)], ['out']],
      ['toggle after a closed session is an in', [stored(1, 'in', 8), stored(2, 'out', 9)], [punch('toggle', 10)], ['in']],
      ['an in and its out in one group', [], [punch('out', 16), punch('in', 8)], ['out', 'in']],
      ['an in open exactly the longest shift can still be closed', [stored(1, 'in', 0)], [punch('out', 16)], ['out']],
      ['an in open past the longest shift is forgotten: a new in is allowed', [stored(1, 'in', 0)], [punch('in', 16.001)], ['in']],
      ['…and an out is not', [stored(1, 'in', 0)], [punch('out', 16.001)], ['not_checked_in']],
      ['a late offline shift the day before fits', [stored(1, 'in', 10), stored(2, 'out', 18)], [punch('in', -14), punch('out', -6)], ['in', 'out']],
      ['an out inside a stored session breaks the stored out', [stored(1, 'in', 10), stored(2, 'out', 18)], [punch('out', 12)], ['out_of_sequence']],
      ['an in just before a stored in breaks it', [stored(1, 'in', 10), stored(2, 'out', 18)], [punch('in', 9)], ['out_of_sequence']],
      [
        'a whole earlier session synced before a stored one fits, though its in alone would not',
        [stored(1, 'in', 8), stored(2, 'out', 17)],
        [punch('out', 6), punch('in', 5)],
        ['out', 'in'],
      ],
      ['a break inside a stored session', [stored(1, 'in', 8), stored(2, 'out', 17)], [punch('out', 12), punch('in', 13)], ['out', 'in']],
      [
        'only the punch that leaves a stored one invalid is taken out',
        [stored(1, 'in', 8), stored(2, 'out', 17)],
        [punch('in', 5), punch('out', 6), punch('in', 7)],
        ['in', 'out', 'out_of_sequence'],
      ],
    ];
    for (const [name, timeline, items, expected] of cases) {
      it(name, () => assert.deepEqual(outcomes(items, state(timeline)).words, expected));
    }
  });

  describe('duplicates and retries', () => {
    it('a stored eventId is the stored check-in again; for another employee or type it is event_id_conflict', () => {
      const original = stored(1, 'in', 8);
      const retry = (more: Partial<Punch>) => punch('in', 9, { eventId: original.eventId, ...more });
      const { words, judged } = outcomes([retry({}), retry({ type: 'toggle' }), retry({ employeeId: 'B' }), retry({ type: 'out' })], state([original]));
      assert.deepEqual(words, ['duplicate', 'duplicate', 'event_id_conflict', 'event_id_conflict']);
      assert.equal((judged.results[0] as { checkin: Checkin }).checkin, original);
    });

    it('a punch identical to a stored one (employee, type, instant) is a duplicate, a toggle at that instant too', () => {
      const s = state([stored(1, 'in', 8)]);
      assert.deepEqual(outcomes([punch('in', 8), punch('toggle', 8)], s).words, ['duplicate', 'duplicate']);
    });

    it('a punch repeated within the group is stored once; the repeat shares its fate if it is taken out', () => {
      assert.deepEqual(outcomes([punch('in', 8), punch('in', 8)]).words, ['in', 'duplicate']);
      const s = state([stored(1, 'in', 10), stored(2, 'out', 18)]);
      assert.deepEqual(outcomes([punch('in', 9), punch('in', 9)], s).words, ['out_of_sequence', 'out_of_sequence']);
    });
  });

  describe('who and where', () => {
    it('an unknown employee or site, or an inactive employee, is refused', () => {
      const words = outcomes([punch('in', 8, { employeeId: 'nobody' }), punch('in', 8, { siteId: 'S-none' }), punch('in', 8, { employeeId: 'Z' })]).words;
      assert.deepEqual(words, ['unknown_employee', 'unknown_site', 'employee_inactive']);
    });

    it('nobody checks in at a closed site, named or their own, but a session opened there can close', () => {
      const closedHome = state([], { employees: new Map([['A', { id: 'A', siteId: 'S0', active: true, hasPin: false }]]) });
      assert.deepEqual(outcomes([punch('in', 8)], closedHome).words, ['site_inactive']);
      assert.deepEqual(outcomes([punch('in', 8, { siteId: 'S0' })]).words, ['site_inactive']);
      const opened = state([stored(1, 'in', 8, { siteId: 'S0' })]);
      const { words, judged } = outcomes([punch('out', 12)], opened);
      assert.deepEqual(words, ['out']);
      assert.equal(judged.write.checkins[0]!.siteId, 'S0', 'a check-out closes the session where it opened');
    });

    it('a check-in without a site is at the employee’s; a kiosk’s site wins', () => {
      const { judged } = outcomes([punch('in', 8), punch('in', 8, { employeeId: 'B', siteId: 'S2' })]);
      assert.deepEqual(
        judged.write.checkins.map((c) => [c.employeeId, c.siteId]),
        [
          ['A', 'S1'],
          ['B', 'S2'],
        ],
      );
    });
  });

  describe('authority', () => {
    const kiosk = (sites: string[], more: Partial<Punch> = {}) => ({ scope: new Set(sites), who: { ...ADMIN.who, actorRole: 'kiosk' as const }, needsPin: true, ...more });

    it('a credential punches only employees of its sites, and only at its sites', () => {
      const words = outcomes([
        punch('in', 8, kiosk(['S1'])),
        punch('in', 8, kiosk(['S2'])),
        punch('in', 8, kiosk(['S1', 'S2'], { employeeId: 'B' })),
        punch('in', 9, kiosk(['S1'], { siteId: 'S2' })),
      ]).words;
      // A at S1 by an S1 kiosk; A by an S2 kiosk; B, who belongs to no site; A named at a site out of reach.
      assert.deepEqual(words, ['in', 'forbidden', 'forbidden', 'forbidden']);
    });

    it('a retry of a stored eventId is refused to a credential out of reach, not answered with the check-in', () => {
      const original = stored(1, 'in', 8);
      assert.deepEqual(outcomes([punch('in', 9, kiosk(['S2'], { eventId: original.eventId }))], state([original])).words, ['forbidden']);
    });

    it('a kiosk that names an employee with a PIN, without proving it, is refused; people need not prove it', () => {
      const words = outcomes([punch('in', 8, kiosk(['S2'], { employeeId: 'P' })), punch('in', 9, { employeeId: 'P' })]).words;
      assert.deepEqual(words, ['invalid_pin', 'in']);
      assert.deepEqual(outcomes([punch('in', 8, kiosk(['S1']))]).words, ['in'], 'an employee without a PIN needs none');
    });

    it('an older-API record is written only for an employee in reach; a new employee (no site) for admins only', () => {
      const record = (id: string, scope: 'all' | Set<string>): GroupItem => ({ record: { id, name: id, status: 'present', date: '2026-11-20' }, scope, who: ADMIN.who });
      const { words } = outcomes([record('A', new Set(['S1'])), record('A', new Set(['S2'])), record('N', new Set(['S1'])), record('N', 'all')]);
      assert.deepEqual(words, ['record', 'forbidden', 'forbidden', 'record']);
    });

    it('every stored check-in and record has its audit entry, with who asked; refusals and duplicates have none', () => {
      const who = { ...ADMIN.who, actorId: 'kiosk-7', ip: '10.0.0.7', requestId: 'r-1' };
      const { judged } = outcomes([punch('in', 8, { who, deviceId: 'door' }), punch('in', 8, { who }), punch('out', 7), { record: { id: 'A', name: 'Ann', status: 'x', date: '2026-11-20' }, ...ADMIN }]);
      assert.deepEqual(
        judged.write.audit.map((a) => [a.action, a.entity, a.who.actorId]),
        [
          ['checkin', 'checkin', 'kiosk-7'],
          ['upsert', 'record', 'test'],
        ],
      );
      const [entry] = judged.write.audit;
      assert.equal(entry!.entityId, judged.write.checkins[0]!.eventId, 'a check-in entry names its check-in, which holds what was recorded');
    });
  });

  describe('what a group writes', () => {
    it('check-ins take consecutive seqs after the head, then one presence change per employee, then records', () => {
      const items: GroupItem[] = [punch('in', 8), punch('out', 9), punch('in', 20, { employeeId: 'B' }), { record: { id: 'A', name: 'Ann', status: 'present', date: '2026-11-20' }, ...ADMIN }];
      const { words, judged } = outcomes(items);
      assert.deepEqual(words, ['in', 'out', 'in', 'record']);
      const { write } = judged;
      assert.deepEqual(
        write.events.map((e) => [e.seq, e.name, e.employeeId]),
        [
          [101, 'checkin.recorded', 'A'],
          [102, 'checkin.recorded', 'A'],
          [103, 'checkin.recorded', 'B'],
          [104, 'presence.changed', 'A'],
          [105, 'presence.changed', 'B'],
          [106, 'record.updated', 'A'],
        ],
      );
      assert.equal(write.head, 106);
      assert.deepEqual(write.checkins.map((c) => c.seq), [101, 102, 103]);
      assert.deepEqual(write.records, [{ id: 'A', name: 'Ann', status: 'present', date: '2026-11-20', seq: 106 }]);
      // A is out again; B has been in for 4 h of a 16 h longest shift at `now`.
      assert.deepEqual(
        write.events.filter((e) => e.name === 'presence.changed').map((e) => e.payload),
        [
          { siteId: 'S1', employeeId: 'A', present: false, since: null },
          { siteId: null, employeeId: 'B', present: true, since: at(20) },
        ],
      );
      assert.deepEqual([...judged.sites], ['S1']);
      assert.deepEqual([...judged.recordsOf], ['A']);
    });

    it('a late punch that is not the employee’s latest changes nobody’s presence; refused punches write nothing', () => {
      const { judged } = outcomes([punch('in', -14), punch('out', -6), punch('out', 30)], state([stored(1, 'in', 10), stored(2, 'out', 18)]));
      assert.deepEqual(judged.write.events.map((e) => e.name), ['checkin.recorded', 'checkin.recorded']);
      assert.equal(judged.write.head, 102);
    });

    it('two records of one employee and day in a group: both get events, the later one is the row', () => {
      const record = (status: string): GroupItem => ({ record: { id: 'N', name: 'New', status, date: '2026-11-20' }, ...ADMIN });
      const { judged } = outcomes([record('absent'), record('present')]);
      assert.deepEqual(judged.write.events.map((e) => [e.seq, e.siteId]), [
        [101, null],
        [102, null],
      ]);
      assert.deepEqual(judged.write.records, [{ id: 'N', name: 'New', status: 'present', date: '2026-11-20', seq: 102 }]);
      assert.deepEqual(judged.write.employees, [
        { id: 'N', name: 'New' },
        { id: 'N', name: 'New' },
      ]);
    });
  });

  describe('voids and geofences', () => {
    const voidOf = (c: Checkin, reason = 'mistake'): GroupItem => ({ void: { eventId: c.eventId, employeeId: c.employeeId, occurredAt: c.occurredAt, reason }, ...ADMIN });
    const fence = { lat: 52.52, lon: 13.405, radiusMeters: 100, mode: 'reject' as const };
    const fenced = (mode: 'flag' | 'reject') => state([], { sites: new Map([['S1', { active: true, geofence: { ...fence, mode } }]]) });
    // 0.001° of latitude is 111.2 m: just outside a 100 m fence, inside once 12 m of accuracy is allowed.
    const near = { lat: 52.52 + 0.001, lon: 13.405, accuracyMeters: 0 };

    it('voiding the latest check-out leaves the employee in: a presence change says so, and a check-out in the same group fits after it', () => {
      const timeline = [stored(1, 'in', 8), stored(2, 'out', 8.01)];
      const { words, judged } = outcomes([voidOf(timeline[1]!), punch('out', 16)], state(timeline));
      assert.deepEqual(words, ['voided', 'out']);
      assert.deepEqual(
        judged.write.events.map((e) => e.name),
        ['checkin.recorded', 'checkin.voided', 'presence.changed'],
      );
      assert.deepEqual(judged.write.voids, [{ seq: 2, voidedSeq: 102, by: 'test', reason: 'mistake' }]);
    });

    it('voiding the latest check-in of an open session: no longer present', () => {
      const timeline = [stored(1, 'in', 23.5)];
      const { words, judged } = outcomes([voidOf(timeline[0]!)], state(timeline));
      assert.deepEqual(words, ['voided']);
      assert.deepEqual(judged.write.events.at(-1)!.payload, { siteId: 'S1', employeeId: 'A', present: false, since: null });
    });

    it('a void that would orphan the later punch, a second void of the same check-in and an unknown one are refused', () => {
      const timeline = [stored(1, 'in', 8), stored(2, 'out', 16)];
      const unknown = stored(9, 'in', 3);
      const { words, judged } = outcomes([voidOf(timeline[0]!), voidOf(timeline[1]!), voidOf(timeline[1]!), voidOf(unknown)], state(timeline));
      assert.deepEqual(words, ['out_of_sequence', 'voided', 'already_voided', 'checkin_not_found']);
      assert.equal(judged.write.voids.length, 1);
    });

    it('reject: outside refused, no location refused, inside stored as inside; flag: outside stored as outside', () => {
      assert.deepEqual(outcomes([punch('in', 8, { siteId: 'S1', location: near })], fenced('reject')).words, ['outside_geofence']);
      assert.deepEqual(outcomes([punch('in', 8, { siteId: 'S1' })], fenced('reject')).words, ['location_required']);
      const inside = outcomes([punch('in', 8, { siteId: 'S1', location: { ...near, accuracyMeters: 12 } })], fenced('reject')).judged;
      assert.equal(inside.write.checkins[0]!.geofence, 'inside');
      const flagged = outcomes([punch('in', 8, { siteId: 'S1', location: near })], fenced('flag')).judged;
      assert.equal(flagged.write.checkins[0]!.geofence, 'outside');
    });

    it('an exempt kiosk and a manager’s correction are not fenced', () => {
      assert.equal(outcomes([punch('in', 8, { siteId: 'S1', geofenceExempt: true })], fenced('reject')).judged.write.checkins[0]!.geofence, undefined);
      assert.deepEqual(outcomes([punch('in', 8, { siteId: 'S1', reason: 'forgot' })], fenced('reject')).words, ['in']);
    });
  });

  describe('timeline helpers', () => {
    it('an out names the check-in it closes, so it can take that site', () => {
      const opened = { type: 'in' as const, at: 0, siteId: 'S9' };
      const v = judgePunch([opened], { type: 'out', at: H }, L);
      assert.ok(v.ok && v.opened === opened);
    });

    it('insertPunch keeps time order, after equal times', () => {
      const t: Array<TimelinePunch & { k?: number }> = [];
      for (const [k, at] of [5, 1, 3, 3, 9].entries()) insertPunch(t, { type: 'in', at, k });
      assert.deepEqual(t.map((p) => [p.at, p.k]), [
        [1, 1],
        [3, 2],
        [3, 3],
        [5, 0],
        [9, 4],
      ]);
    });

    it('takeOutMisfits takes out only new punches, the last one before the stored punch they broke first', () => {
      type P = TimelinePunch & { added?: true };
      const timeline: P[] = [
        { type: 'in', at: 5, added: true },
        { type: 'in', at: 6, added: true },
        { type: 'in', at: 8 },
      ];
      const misfits = takeOutMisfits(timeline, (p) => p.added === true, L);
      assert.deepEqual(misfits.map((m) => m.punch.at), [6, 5]);
      assert.deepEqual(timeline.map((p) => p.at), [8]);
    });
  });
});
