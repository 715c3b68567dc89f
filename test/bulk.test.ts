import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Knex } from '../server/db/knex.js';
import { planImport, type ReadRow } from '../server/services/imports/plan.js';
import type { Employee } from '../shared/directory.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';
import { withToken } from './support/signin.js';

const employee = (id: string, siteId: string | null, more: Partial<Employee> = {}): Employee => ({
  id,
  name: id,
  siteId,
  badge: null,
  hasPin: false,
  active: true,
  createdAt: '',
  updatedAt: '',
  ...more,
});
const read = (line: number, row: ReadRow['row'] & object): ReadRow => ({ line, id: row.id, row, problems: [] });

describe('employee import rules (pure)', () => {
  const known = {
    employees: new Map([
      ['OLD', employee('OLD', 'S1', { name: 'Old Name', badge: 'B-OLD' })],
      ['FAR', employee('FAR', 'S2')],
    ]),
    badgeHolders: new Map([
      ['B-OLD', 'OLD'],
      ['B-FAR', 'FAR'],
    ]),
    sites: new Map([
      ['S1', true],
      ['S2', true],
      ['SX', false],
    ]),
  };

  it('plans creates, updates and unchanged rows; a PIN given is a change', () => {
    const { steps, problems } = planImport(
      [read(2, { id: 'NEW', name: 'New', siteId: 'S1' }), read(3, { id: 'OLD', name: 'Old Name', badge: 'B-OLD' }), read(4, { id: 'FAR', pin: '1234' }), read(5, { id: 'OLD2', name: 'x', active: 'false' })],
      known,
      'all',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      steps.map((s) => [s.line, s.action]),
      [
        [2, 'create'],
        [3, 'unchanged'],
        [4, 'update'],
        [5, 'create'],
      ],
    );
  });

  it('reports every problem of every row, each with its line and column', () => {
    const { steps, problems } = planImport(
      [
        read(2, { id: 'N1' }),
        read(3, { id: 'N2', name: 'Two', siteId: 'NOPE' }),
        read(4, { id: 'N3', name: 'Three', siteId: 'SX' }),
        read(5, { id: 'N4', name: 'Four', badge: 'B-FAR' }),
        read(6, { id: 'N5', name: 'Five', badge: 'B-NEW' }),
        read(7, { id: 'N6', name: 'Six', badge: 'B-NEW' }),
        read(8, { id: 'N5', name: 'Five again' }),
        { line: 9, id: 'bad', problems: [{ line: 9, id: 'bad', column: 'pin', code: 'validation_failed', message: 'must be 4 to 12 digits' }] },
      ],
      known,
      'all',
    );
    assert.equal(steps.length, 1);
    assert.deepEqual(
      problems.map((p) => [p.line, p.column, p.code]),
      [
        [2, 'name', 'name_required'],
        [3, 'siteId', 'unknown_site'],
        [4, 'siteId', 'site_inactive'],
        [5, 'badge', 'badge_taken'],
        [7, 'badge', 'badge_taken'],
        [8, 'id', 'duplicate_row'],
        [9, 'pin', 'validation_failed'],
      ],
    );
  });

  it('a manager imports only at its own sites: new people there, its own people, moves between its sites', () => {
    const scope = new Set(['S1']);
    const { problems } = planImport(
      [read(2, { id: 'N1', name: 'One', siteId: 'S1' }), read(3, { id: 'N2', name: 'Two', siteId: 'S2' }), read(4, { id: 'N3', name: 'Three' }), read(5, { id: 'FAR', name: 'Far' }), read(6, { id: 'OLD', siteId: 'S2' })],
      known,
      scope,
    );
    assert.deepEqual(
      problems.map((p) => [p.line, p.column, p.code]),
      [
        [3, 'siteId', 'forbidden'],
        [4, 'siteId', 'forbidden'],
        [5, 'id', 'forbidden'],
        [6, 'siteId', 'forbidden'],
      ],
    );
  });
});

describe('bulk import and export over HTTP', () => {
  const t = useTestHub({ seed });
  async function seed(db: Knex) {
    await makeSite(db, { id: 'BER', timeZone: 'Europe/Berlin' });
    await makeSite(db, { id: 'NYC', timeZone: 'America/New_York' });
    await makeEmployee(db, { id: 'E1', name: 'Anna', siteId: 'BER', badge: 'B-E1' });
    await makeEmployee(db, { id: 'E2', name: 'Ben', siteId: 'NYC' });
    await storeCheckins(db, [
      // 23:30 UTC on 1 June is 01:30 on 2 June in Berlin: a 2 June check-in there.
      { employeeId: 'E1', siteId: 'BER', type: 'in', occurredAt: '2026-06-01T23:30:00Z' },
      { employeeId: 'E1', siteId: 'BER', type: 'out', occurredAt: '2026-06-02T07:30:00Z' },
      // 23:30 UTC on 1 June is 19:30 on 1 June in New York.
      { employeeId: 'E2', siteId: 'NYC', type: 'in', occurredAt: '2026-06-01T23:30:00Z' },
    ]);
  }
  const importCsv = (csv: string, query = '', token?: string) => api(t.hub, 'POST', `/api/v1/imports/employees${query}`, csv, { 'content-type': 'text/csv', ...(token ? withToken(token) : {}) });
  const count = async () => Number((await t.tdb.db('employees').count<{ count: string }[]>('* as count'))[0]!.count);
  const employeeRow = (id: string) => t.tdb.db('employees').where({ id }).first();

  it('a dry run with problems lists every one, with its line; nothing is written, and the same file for real writes nothing either', async () => {
    const csv = ['id,name,siteId,badge,pin,active', 'N1,New One,BER,B-N1,1234,', 'N2,,BER,,,', 'N3,Three,NOWHERE,,,', 'N4,Four,BER,B-E1,,', 'N5,Five,BER,,12,', 'E1,Anna Renamed,,,,'].join('\n');
    const before = await count();
    for (const query of ['?dryRun=true', '']) {
      const res = await importCsv(csv, query);
      assert.equal(res.status, 422, res.text);
      assert.equal(res.body.error.code, 'import_invalid');
      assert.deepEqual(
        res.body.error.details.problems.map((p: { line: number; column: string; code: string }) => [p.line, p.column, p.code]),
        [
          [3, 'name', 'name_required'],
          [4, 'siteId', 'unknown_site'],
          [5, 'badge', 'badge_taken'],
          [6, 'pin', 'validation_failed'],
        ],
      );
    }
    assert.equal(await count(), before);
    assert.equal((await employeeRow('E1')).name, 'Anna');
  });

  it('a clean file: the dry run says what it would do and writes nothing; then all of it is written, PINs set or left', async () => {
    const csv = ['id,name,siteId,badge,pin,active', 'N1,New One,BER,B-N1,1234,', 'N2,New Two,NYC,,,false', 'E1,Anna Schmidt,,,,', 'E2,Ben,,,,'].join('\r\n');
    const before = await count();
    const dry = await importCsv(csv, '?dryRun=true');
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual(dry.body.data, { dryRun: true, rows: 4, created: 2, updated: 1, unchanged: 1 });
    assert.equal(await count(), before);

    const res = await importCsv(csv);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.data, { dryRun: false, rows: 4, created: 2, updated: 1, unchanged: 1 });
    const n1 = await employeeRow('N1');
    assert.deepEqual([n1.name, n1.site_id, n1.badge, n1.pin_hash !== null, n1.active], ['New One', 'BER', 'B-N1', true, true]);
    const n2 = await employeeRow('N2');
    assert.deepEqual([n2.site_id, n2.pin_hash, n2.active], ['NYC', null, false]);
    const e1 = await employeeRow('E1');
    assert.deepEqual([e1.name, e1.badge], ['Anna Schmidt', 'B-E1']);
    // The PIN works at a kiosk at once.
    const kiosk = await t.hub.token('kiosk', ['BER']);
    const punch = await api(t.hub, 'POST', '/api/v1/checkins', { badge: 'B-N1', pin: '1234', type: 'in' }, withToken(kiosk));
    assert.equal(punch.status, 201, punch.text);
    const audit = (await api(t.hub, 'GET', '/api/v1/audit?entity=employee&limit=500')).body.data.filter((e: { changes: { source?: string } }) => e.changes?.source === 'import');
    assert.deepEqual(audit.map((e: { action: string; entityId: string }) => [e.action, e.entityId]).sort(), [
      ['create', 'N1'],
      ['create', 'N2'],
      ['update', 'E1'],
    ]);
    assert.ok(!JSON.stringify(audit).includes('1234'), 'no PIN in the audit log');
  });

  it('refuses what is not a CSV of employees, writing nothing', async () => {
    const cases: Array<[string, Record<string, string>, string, number, string]> = [
      ['an unknown column', { 'content-type': 'text/csv' }, 'id,name,salary\nX,Y,1', 400, 'invalid_csv'],
      ['no id column', { 'content-type': 'text/csv' }, 'name\nY', 400, 'invalid_csv'],
      ['a ragged row', { 'content-type': 'text/csv' }, 'id,name\nX,Y,Z', 400, 'invalid_csv'],
      ['an empty body', { 'content-type': 'text/csv' }, '', 400, 'invalid_csv'],
      ['JSON', { 'content-type': 'application/json' }, '{"id":"X"}', 415, 'unsupported_media_type'],
    ];
    const before = await count();
    for (const [what, headers, body, status, code] of cases) {
      const res = await api(t.hub, 'POST', '/api/v1/imports/employees', body, headers);
      assert.equal(res.status, status, `${what}: ${res.text}`);
      assert.equal(res.body.error.code, code, what);
    }
    const manager = await t.hub.token('manager', ['BER']);
    const theirs = await importCsv('id,name,siteId\nM1,Mine,BER\nM2,Theirs,NYC', '', manager);
    assert.equal(theirs.status, 422, theirs.text);
    assert.deepEqual(theirs.body.error.details.problems.map((p: { line: number; code: string }) => [p.line, p.code]), [[3, 'forbidden']]);
    const dashboard = await t.hub.token('dashboard', ['BER']);
    assert.equal((await importCsv('id,name\nD1,D', '', dashboard)).status, 403);
    assert.equal(await count(), before);
  });

  it('hostile CSV (quotes, NUL, lone surrogates, huge cells, ragged rows, BOMs) is a 4xx, never a 5xx', async () => {
    const cell = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('"', '""', '"a,b"', '\u0000', '\ud800', '\ufeff', 'x'.repeat(5000), '=1+1', '1234', 'BER', 'true'));
    const line = fc.array(cell, { minLength: 1, maxLength: 7 }).map((cells) => cells.join(','));
    const file = fc.tuple(fc.constantFrom('id,name,siteId,badge,pin,active', 'id,name', 'id', '\ufeffid,name', 'name,id,,'), fc.array(line, { maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\r'))
      .map(([header, rows, eol]) => [header, ...rows].join(eol));
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(file, async (csv) => {
        const res = await importCsv(csv, '?dryRun=true');
        statuses.add(res.status);
        return res.status < 500;
      }),
      { numRuns: 300 },
    );
    assert.ok(statuses.has(400) || statuses.has(422), `answers seen: ${[...statuses]}`);
  });

  it('exports check-ins of a date range by each site’s local date, voided ones marked, only from sites in reach', async () => {
    const csv = async (path: string, token?: string) => {
      const res = await api(t.hub, 'GET', path, undefined, { accept: 'text/csv', ...(token ? withToken(token) : {}) });
      assert.equal(res.status, 200, res.text);
      return res.text.trimEnd().split('\r\n');
    };
    const june1 = await csv('/api/v1/exports/checkins?from=2026-06-01&to=2026-06-01');
    assert.equal(june1[0], 'seq,eventId,employeeId,siteId,deviceId,type,occurredAt,recordedAt,reason,location,geofence,voided');
    assert.deepEqual(
      june1.slice(1).map((l) => l.split(',').slice(2, 6)),
      [['E2', 'NYC', '', 'in']],
    );
    const june2 = await csv('/api/v1/exports/checkins?from=2026-06-02&to=2026-06-02');
    assert.deepEqual(
      june2.slice(1).map((l) => l.split(',').slice(2, 6)),
      [
        ['E1', 'BER', '', 'in'],
        ['E1', 'BER', '', 'out'],
      ],
    );
    const [, out] = (await api(t.hub, 'GET', '/api/v1/checkins?employeeId=E1')).body.data;
    assert.equal((await api(t.hub, 'POST', `/api/v1/checkins/${out.eventId}/void`, { reason: 'test' })).status, 200);
    const voided = await api(t.hub, 'GET', '/api/v1/exports/checkins?from=2026-06-02&to=2026-06-02&format=json');
    assert.equal(voided.body.data[1].voided.reason, 'test');

    const manager = await t.hub.token('manager', ['NYC']);
    assert.deepEqual(
      (await csv('/api/v1/exports/checkins?from=2026-06-01&to=2026-06-02', manager)).slice(1).map((l) => l.split(',')[3]),
      ['NYC'],
    );
    assert.equal((await api(t.hub, 'GET', '/api/v1/exports/checkins?siteId=BER&from=2026-06-01&to=2026-06-02', undefined, withToken(manager))).status, 403);
    assert.equal((await api(t.hub, 'GET', '/api/v1/exports/checkins?from=2026-06-02&to=2026-06-01')).status, 400);
    assert.equal((await api(t.hub, 'GET', '/api/v1/exports/checkins?from=2024-01-01&to=2026-06-01')).body.error.code, 'range_too_large');
  });

  it('exports daily attendance for a date range: a day’s report after another', async () => {
    const res = await api(t.hub, 'GET', '/api/v1/exports/attendance?siteId=BER&from=2026-06-01&to=2026-06-02&format=csv');
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers.get('content-disposition')), /attendance-BER-2026-06-01-2026-06-02\.csv/);
    const lines = res.text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'employeeId,name,date,shiftId,firstIn,lastOut,workedMinutes,sessions,scheduledMinutes,lateMinutes,earlyExitMinutes,overtimeMinutes,status,flags');
    const anna = lines.slice(1).filter((l) => l.startsWith('E1,')).map((l) => l.split(',')[2]);
    assert.deepEqual(anna, ['2026-06-01', '2026-06-02']);
    assert.equal((await api(t.hub, 'GET', '/api/v1/exports/attendance?siteId=NOPE&from=2026-06-01&to=2026-06-02')).body.error.code, 'site_not_found');
  });
});
