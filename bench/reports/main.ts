/**
 * bench:reports — how long the daily report takes for a large site with shifts, against the same site
 * without shifts (the report as it was before shifts), in one run on one hub.
 *
 * Two sites of --employees each (S01 with everyone on a day shift, a holiday calendar and some on leave;
 * S02 with no shift), the same day of punches for both (in around 09:00 local, out around 17:00, posted
 * through the hub's own offline-sync endpoint), then GET /api/v1/reports/daily for each site in turn,
 * --runs times each, timed from the request to the last byte.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect, createBenchDatabase } from '../lib/database.js';
import { startHub, UNLIMITED } from '../lib/child.js';
import { codeVersion, machineLine } from '../lib/machine.js';
import { ms, num, positive, ratio, say, verdict } from '../lib/print.js';
import { run } from '../lib/run.js';
import { percentiles } from '../lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    employees: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench:reports -- [--employees 5000] [--runs 10]
DATABASE_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres); a database hub_reports_<pid> is created and dropped`);
  process.exit(0);
}
const EMPLOYEES = Math.round(positive('employees', flags.employees));
const RUNS = Math.round(positive('runs', flags.runs));
const DATE = '2026-06-01';
const TARGET_MS = 1000;

async function main(): Promise<number> {
  // The seeding spreads employees over 10 sites: ten times as many gives each site EMPLOYEES.
  const dbUrl = await createBenchDatabase(`hub_reports_${process.pid}`, EMPLOYEES * 10);
  const db = await connect(dbUrl);
  const machine = await machineLine(db);
  const adminToken = `ahub_${randomBytes(32).toString('base64url')}`;
  const hub = await startHub({ name: 'hub', dbUrl, env: { ...UNLIMITED, ADMIN_TOKEN: adminToken } });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${hub.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return text;
  };

  const ids = async (site: string) => (await db.query<{ id: string }>('SELECT id FROM employees WHERE site_id = $1 ORDER BY id', [site])).rows.map((r) => r.id);
  const shifted = await ids('S01');
  const plain = await ids('S02');
  say(`S01: ${num(shifted.length)} employees on a day shift; S02: ${num(plain.length)} employees without one`);

  await call('POST', '/api/v1/sites/S01/shifts', { id: 'day', name: 'Day', start: '09:00', end: '17:00', breakMinutes: 30, lateGraceMinutes: 5, earlyGraceMinutes: 5, overtimeAfterMinutes: 15, halfDayBelowMinutes: 240 });
  await call('POST', '/api/v1/sites/S01/holidays', { date: '2026-05-25', name: 'Whit Monday' });
  // Assignments and leave as a manager records them, through the API.
  for (const [i, id] of shifted.entries()) {
    await call('POST', `/api/v1/employees/${id}/shift-assignments`, { shiftId: 'day', from: '2026-01-01' });
    if (i % 20 === 0) await call('POST', `/api/v1/employees/${id}/leave`, { kind: 'vacation', from: DATE, to: DATE });
  }
  say('shift assignments and leave recorded');

  // The day's punches for both sites: everyone but every tenth (absent) and those on leave comes in
  // between 08:30 and 09:30 and leaves between 16:30 and 17:30, Berlin time (UTC+2 in June).
  const at = (minutes: number) => new Date(Date.parse(`${DATE}T00:00:00+02:00`) + minutes * 60_000).toISOString();
  const punches = [...shifted, ...plain].flatMap((id, i) =>
    i % 10 === 3 || (i < shifted.length && i % 20 === 0)
      ? []
      : [
          { employeeId: id, type: 'in', occurredAt: at(510 + (i % 61)), eventId: randomUUID() },
          { employeeId: id, type: 'out', occurredAt: at(990 + ((i * 7) % 61)), eventId: randomUUID() },
        ],
  );
  for (let i = 0; i < punches.length; i += 1000) await call('POST', '/api/v1/checkins/batch', { punches: punches.slice(i, i + 1000) });
  say(`${num(punches.length)} punches stored through the offline-sync endpoint`);
  await db.query('ANALYZE');

  const timed = async (site: string) => {
    const started = performance.now();
    const text = await call('GET', `/api/v1/reports/daily?siteId=${site}&date=${DATE}`);
    const took = performance.now() - started;
    return { took, rows: (JSON.parse(text) as { data: unknown[] }).data.length };
  };
  // One of each first, not counted: the hub's first read of each path.
  await timed('S01');
  await timed('S02');
  const withSamples: number[] = [];
  const withoutSamples: number[] = [];
  let rows = { S01: 0, S02: 0 };
  for (let r = 0; r < RUNS; r++) {
    const a = await timed('S01');
    const b = await timed('S02');
    withSamples.push(a.took);
    withoutSamples.push(b.took);
    rows = { S01: a.rows, S02: b.rows };
  }
  await hub.stop();

  const withShifts = percentiles(withSamples);
  const without = percentiles(withoutSamples);
  const p50 = withShifts.p50;
  console.log('');
  console.log('== reports benchmark ==');
  console.log(`command:  npm run bench:reports -- --employees ${EMPLOYEES} --runs ${RUNS}`);
  console.log(`machine:  ${machine}`);
  console.log(`code:     ${codeVersion()}`);
  console.log(`shifts:   daily report of S01, ${num(rows.S01)} rows: p50 ${ms(p50)}, max ${ms(withShifts.max)} over ${RUNS} runs`);
  console.log(`baseline: daily report of S02 (no shifts), ${num(rows.S02)} rows: p50 ${ms(without.p50)}, max ${ms(without.max)}`);
  console.log(`ratio:    with shifts / without = ${ratio(p50, without.p50)} (p50)`);
  console.log(`${verdict(withShifts.max < TARGET_MS)}  the daily report of ${num(EMPLOYEES)} employees with shifts under ${TARGET_MS} ms (slowest of ${RUNS}: ${ms(withShifts.max)})`);
  return 0;
}

run(main);
