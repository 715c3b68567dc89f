import { h } from '../lib/dom.js';
import { since } from '../lib/time.js';

export type Presence = { siteId: string; since: number };
type Row = { key: string; siteId: string; since: number; name: string };

/** Rows drawn beyond each edge of the view, so a scroll shows rows already there. */
const OVERSCAN = 10;
/** A row's height in rem (the stylesheet's `.people li` height). */
const ROW_REM = 2.4;

/**
 * "Who is in", sorted by name, drawn virtually: the list holds thousands of people, the DOM only the
 * rows in view. Laying out and painting 2,000 rows took 50-100 ms per change on this machine; a few
 * dozen take well under one. A change updates the sorted arrays (binary search) and redraws the view.
 */
export class PresentList {
  private rows = new Map<string, Row>();
  /** Sort keys in list order; `ids[i]` is the employee of `keys[i]`. */
  private keys: string[] = [];
  private ids: string[] = [];
  private drawn: HTMLLIElement[] = [];
  private rowPx = 0;
  private viewPx = 0;
  private top = 0;
  private frame = 0;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly list: HTMLOListElement,
    private readonly siteName: (id: string) => string,
    private readonly timeZone: (siteId: string) => string,
  ) {
    // Sizes are read when they change, never in the middle of a draw (no forced layout per frame).
    const measure = () => {
      this.rowPx = ROW_REM * parseFloat(getComputedStyle(document.documentElement).fontSize);
      this.viewPx = scroller.clientHeight;
      this.draw();
    };
    new ResizeObserver(measure).observe(scroller);
    scroller.addEventListener(
      'scroll',
      () => {
        this.top = scroller.scrollTop;
        cancelAnimationFrame(this.frame);
        this.frame = requestAnimationFrame(() => this.draw());
      },
      { passive: true },
    );
  }

  get size(): number {
    return this.rows.size;
  }

  /** Bring these employees' rows in line with `present` and `names`, then redraw what is in view. */
  sync(ids: Iterable<string>, present: Map<string, Presence>, names: Map<string, string>): void {
    const adds: string[] = [];
    for (const id of ids) {
      const want = present.get(id);
      const row = this.rows.get(id);
      const name = names.get(id) ?? id;
      if (row && want && row.siteId === want.siteId && row.since === want.since && row.name === name) continue;
      if (row) this.remove(id, row);
      if (want) adds.push(id);
    }
    const row = (id: string): Row => {
      const p = present.get(id)!;
      const name = names.get(id) ?? id;
      // Names first, case aside; the id breaks ties between namesakes.
      return { key: `${name.toLowerCase()}\u0000${id}`, siteId: p.siteId, since: p.since, name };
    };
    // A first snapshot of thousands is sorted once rather than inserted one by one.
    if (this.rows.size === 0 && adds.length > 50) {
      const sorted = adds.map((id) => [id, row(id)] as const).sort((a, b) => (a[1].key < b[1].key ? -1 : 1));
      for (const [id, r] of sorted) this.rows.set(id, r);
      this.keys = sorted.map(([, r]) => r.key);
      this.ids = sorted.map(([id]) => id);
    } else for (const id of adds) this.insert(id, row(id));
    this.draw();
  }

  private insert(id: string, row: Row): void {
    const at = this.position(row.key);
    this.keys.splice(at, 0, row.key);
    this.ids.splice(at, 0, id);
    this.rows.set(id, row);
  }

  private remove(id: string, row: Row): void {
    const at = this.position(row.key);
    this.keys.splice(at, 1);
    this.ids.splice(at, 1);
    this.rows.delete(id);
  }

  /** The first index whose key is not below `key`. */
  private position(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Lay out the rows in view (and a few beyond), reusing the <li>s already there. Positions are set through CSSOM, which the CSP allows. */
  private draw(): void {
    if (!this.rowPx) return;
    const total = this.ids.length;
    const height = `${total * this.rowPx}px`;
    if (this.list.style.height !== height) this.list.style.height = height;
    const first = Math.max(0, Math.floor(this.top / this.rowPx) - OVERSCAN);
    const end = Math.min(total, Math.ceil((this.top + this.viewPx) / this.rowPx) + OVERSCAN);
    while (this.drawn.length > Math.max(0, end - first)) this.drawn.pop()!.remove();
    for (let i = first; i < end; i++) {
      let li = this.drawn[i - first];
      if (!li) {
        li = h('li', {}, h('span', { class: 'name' }), h('span', { class: 'site' }), h('time'));
        this.drawn.push(li);
        this.list.append(li);
      }
      const id = this.ids[i]!;
      const row = this.rows.get(id)!;
      const stamp = `${row.key}|${row.siteId}|${row.since}`;
      if (li.dataset.stamp !== stamp) {
        li.dataset.stamp = stamp;
        const [name, site, time] = li.children as unknown as [HTMLElement, HTMLElement, HTMLTimeElement];
        name.textContent = row.name;
        site.textContent = this.siteName(row.siteId);
        time.dateTime = new Date(row.since).toISOString();
        time.textContent = since(row.since, this.timeZone(row.siteId));
      }
      // Unchanged rows are left alone: writing even the same values would make the browser look again.
      const place = `${i}/${total}/${this.rowPx}`;
      if (li.dataset.place !== place) {
        li.dataset.place = place;
        li.style.transform = `translateY(${i * this.rowPx}px)`;
        li.setAttribute('aria-posinset', String(i + 1));
        li.setAttribute('aria-setsize', String(total));
      }
    }
  }
}
