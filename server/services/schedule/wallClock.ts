/**
 * Local wall times and the instants they name, in an IANA zone, with only Intl: a shift's start and
 * end are wall times, so on a 23- or 25-hour night its length is what the clocks say. Pure.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The zone's offset from UTC at an instant, in ms (local − UTC), to the second. */
export function offsetAt(at: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return local - (at - (((at % 1000) + 1000) % 1000));
}

/** 'YYYY-MM-DD' + 'HH:MM' as if it were UTC: the wall time's own number line. */
function wallMs(date: string, time: string): number {
  return Date.parse(`${date}T${time}:00Z`);
}

/**
 * The instant a local wall time names. A time the clocks skip (spring forward) starts at the next
 * valid instant, the moment the clocks jump; a time they show twice (fall back) is the first.
 */
export function instantOf(date: string, time: string, timeZone: string): Date {
  const key = `${timeZone} ${date} ${time}`;
  let at = instants.get(key);
  if (at === undefined) {
    // A pure function of its three strings, and a report asks it the same few thousands of times.
    if (instants.size >= MAX_CACHED_INSTANTS) instants.clear();
    at = computeInstant(date, time, timeZone);
    instants.set(key, at);
  }
  return new Date(at);
}

const instants = new Map<string, number>();
const MAX_CACHED_INSTANTS = 100_000;

function computeInstant(date: string, time: string, timeZone: string): number {
  const wall = wallMs(date, time);
  // At most one transition lies within a day of the wall time: the offsets either side of it.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const valid = [wall - before, wall - after].filter((t) => t + offsetAt(t, timeZone) === wall).sort((a, b) => a - b);
  if (valid.length) return valid[0]!;
  // Skipped: find the first minute on the later offset, between the two readings of the wall time.
  let lo = Math.min(wall - before, wall - after);
  let hi = Math.max(wall - before, wall - after);
  while (hi - lo > MINUTE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetAt(mid, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The ISO weekday (1 = Monday … 7 = Sunday) of 'YYYY-MM-DD'. */
export function weekdayOf(date: string): number {
  const d = new Date(`${date}T00:00:00Z`).getUTCDay();
  return d === 0 ? 7 : d;
}

/** 'YYYY-MM-DD' moved by whole days. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
