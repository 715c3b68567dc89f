import { api } from './hub.js';

export type Sample = { name: string; labels: Record<string, string>; value: number };

/** A scrape of /metrics, parsed from the Prometheus text format the hub answers with. */
export type Scrape = {
  samples: Sample[];
  /** The sum of the samples named so whose labels include these (0 when there are none). */
  value(name: string, labels?: Record<string, string>): number;
  /** Whether any sample of that name is there. */
  has(name: string): boolean;
};

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const matches = (s: Sample, name: string, labels: Record<string, string>) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    value: (name, labels = {}) => samples.filter((s) => matches(s, name, labels)).reduce((sum, s) => sum + s.value, 0),
    has: (name) => samples.some((s) => s.name === name),
  };
}

/** GET /metrics with these headers (none: no credentials); fails on anything but 200. */
export async function scrape(hub: { url: string }, headers: Record<string, string>): Promise<Scrape> {
  const res = await api(hub, 'GET', '/metrics', undefined, { authorization: '', ...headers });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${res.text}`);
  return parseMetrics(res.text);
}
