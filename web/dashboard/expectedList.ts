import { h } from '../lib/dom.js';
import type { Waiting } from './expected.js';

const MINUTE_MS = 60_000;

/** "due now" in a shift's first minute, then "12 min late", "1 h 5 min late". */
export function lateness(minutes: number): string {
  if (minutes < 1) return 'due now';
  return minutes < 60 ? `${minutes} min late` : `${Math.floor(minutes / 60)} h ${minutes % 60} min late`;
}

/**
 * "Expected, not in": a short list (the people late right now), drawn whole and keyed by person, so an
 * arrival removes one row and leaves the rest alone. Lateness counts from each run's start on the
 * hub's time (this screen's clock plus `skew`), redrawn as each minute turns: starts fall on whole
 * minutes, so every row's count changes then.
 */
export class ExpectedList {
  private readonly rows = new Map<string, HTMLLIElement>();
  private shown: Waiting[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly none: HTMLElement,
    /** What a row says besides the name: the shift (and the site, on a board of several). */
    private readonly shiftLabel: (w: Waiting) => string,
    private readonly skew: () => number,
  ) {}

  sync(rows: Waiting[]): void {
    const keep = new Set(rows.map(key));
    for (const [k, li] of this.rows) if (!keep.has(k)) li.remove(), this.rows.delete(k);
    rows.forEach((w, i) => {
      let li = this.rows.get(key(w));
      if (!li) {
        li = h('li', {}, h('span', { class: 'name' }), h('span', { class: 'site' }), h('span', { class: 'late' }));
        this.rows.set(key(w), li);
      }
      const stamp = `${w.name}|${this.shiftLabel(w)}|${w.start}`;
      if (li.dataset.stamp !== stamp) {
        li.dataset.stamp = stamp;
        li.children[0]!.textContent = w.name;
        li.children[1]!.textContent = this.shiftLabel(w);
      }
      const at = this.list.children[i] ?? null;
      if (at !== li) this.list.insertBefore(li, at);
    });
    this.none.hidden = rows.length > 0;
    this.shown = rows;
    this.tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private readonly tick = () => {
    clearTimeout(this.timer);
    const now = Date.now() + this.skew();
    for (const w of this.shown) {
      const late = this.rows.get(key(w))!.children[2]!;
      const text = lateness(Math.max(0, Math.floor((now - Date.parse(w.start)) / MINUTE_MS)));
      if (late.textContent !== text) late.textContent = text;
    }
    if (this.shown.length) this.timer = setTimeout(this.tick, MINUTE_MS - (now % MINUTE_MS));
  };
}

const key = (w: Waiting) => `${w.siteId}/${w.employeeId}`;
