/**
 * Times as a site's people read them: in the site's IANA time zone, on a 24-hour clock, whatever
 * zone the screen itself is set to. Formatters are costly to make, so one per zone is kept.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

type Wall = { year: number; month: number; day: number; hour: number; minute: number; second: number };

/** The wall-clock reading in the zone at instant t (ms). */
function wall(t: number, timeZone: string): Wall {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(t)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "08:59" */
export function clock(t: number, timeZone: string): string {
  const w = wall(t, timeZone);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** The site's calendar day of t: "2026-11-27". */
export function localDay(t: number, timeZone: string): string {
  const w = wall(t, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

export function localHour(t: number, timeZone: string): number {
  return wall(t, timeZone).hour;
}

/** The instant the site's day containing t began (its local midnight, found across DST shifts). */
export function startOfLocalDay(t: number, timeZone: string): number {
  const w = wall(t, timeZone);
  const midnight = Date.UTC(w.year, w.month - 1, w.day);
  const offset = (at: number) => {
    const x = wall(at, timeZone);
    return Date.UTC(x.year, x.month - 1, x.day, x.hour, x.minute, x.second) - Math.floor(at / 1000) * 1000;
  };
  const guess = midnight - offset(midnight);
  return midnight - offset(guess);
}

/** "08:59" today at the site, else "26 Nov 22:10" (a night shift that began yesterday). */
export function since(t: number, timeZone: string, now = Date.now()): string {
  if (localDay(t, timeZone) === localDay(now, timeZone)) return clock(t, timeZone);
  const w = wall(t, timeZone);
  return `${w.day} ${MONTHS[w.month - 1]} ${clock(t, timeZone)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
