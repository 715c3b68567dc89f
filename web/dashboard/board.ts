import type { Site } from '../../shared/directory.js';
import { createDashboardClient } from '../../shared/client.js';
import type { Checkin, PresenceEntry } from '../../shared/schemas.js';
import type { Api } from '../lib/api.js';
import { byId, h } from '../lib/dom.js';
import { clock, startOfLocalDay } from '../lib/time.js';
import { createChart } from './chart.js';
import { ExpectedModel, followExpected } from './expected.js';
import { ExpectedList } from './expectedList.js';
import { BoardModel, type Step } from './model.js';
import { PresentList } from './presentList.js';

export type Connection = { state: 'connecting' | 'live' | 'reconnecting' | 'catching-up' | 'error'; text: string };

// A replay after a long outage can bring thousands of events at once: spread them over frames.
const STEPS_PER_FRAME = 2000;
// After a resume, the replay is over once no replayed event came for this long (or the head is reached).
const REPLAY_QUIET_MS = 1000;
const number = new Intl.NumberFormat();

/**
 * The live board for the chosen sites: who is in, who is expected and not in, today's counts and
 * hourly chart in each site's own day, and the latest check-ins. Fed by the shared client library
 * (which resumes by seq and drops repeats); events are queued and applied once per animation frame,
 * the DOM touched only where something changed.
 */
export function startBoard(
  root: HTMLElement,
  opts: { api: Api; token?: string; sites: Site[]; onConnection(c: Connection): void; onRefused(): void },
): { stop(): void } {
  const { api, sites } = opts;
  const site = new Map(sites.map((s) => [s.id, s]));
  const zone = (id: string | null) => (id && site.get(id)?.timeZone) || 'UTC';
  const siteName = (id: string | null) => (id && site.get(id)?.name) || id || '—';

  root.replaceChildren(
    h(
      'div',
      { class: 'board' },
      h(
        'section',
        { class: 'stats', 'aria-label': 'Counts' },
        h('p', {}, h('span', { class: 'label' }, 'In now'), h('span', { id: 'present-count', class: 'big' }, '0')),
        h('p', {}, h('span', { class: 'label' }, 'Checked in today'), h('span', { id: 'in-count', class: 'big' }, '0')),
        h('p', {}, h('span', { class: 'label' }, 'Checked out today'), h('span', { id: 'out-count', class: 'big' }, '0')),
      ),
      h('section', { class: 'hours', 'aria-labelledby': 'hours-h' }, h('h2', { id: 'hours-h' }, 'Check-ins per hour today'), h('div', { id: 'chart' })),
      h('section', { class: 'latest', 'aria-labelledby': 'latest-h' }, h('h2', { id: 'latest-h' }, 'Latest check-ins'), h('ol', { id: 'stream', class: 'stream' })),
      h(
        'section',
        { class: 'present', 'aria-labelledby': 'present-h' },
        h('h2', { id: 'present-h' }, 'Who is in'),
        h('div', { id: 'present-scroll', class: 'people', tabindex: '0', role: 'region', 'aria-labelledby': 'present-h' }, h('ol', { id: 'present-list' })),
      ),
      h(
        'section',
        { class: 'expected', 'aria-labelledby': 'expected-h' },
        h('h2', { id: 'expected-h' }, 'Expected, not in'),
        h(
          'div',
          { id: 'expected-scroll', class: 'waiting', tabindex: '0', role: 'region', 'aria-labelledby': 'expected-h' },
          h('p', { id: 'expected-none', class: 'none', hidden: true }, 'Nobody expected is missing.'),
          h('ol', { id: 'expected-list' }),
        ),
      ),
    ),
  );

  const model = new BoardModel(zone, (siteId) => wantNames(siteId));
  const list = new PresentList(byId('present-scroll'), byId<HTMLOListElement>('present-list'), siteName, zone);
  const chart = createChart(byId('chart'));
  const expected = new ExpectedModel(sites.map((s) => s.id));
  const waiting = new ExpectedList(
    byId<HTMLOListElement>('expected-list'),
    byId('expected-none'),
    (w) => (sites.length > 1 ? `${w.shiftName} · ${siteName(w.siteId)}` : w.shiftName),
    () => expected.skew,
  );
  const expectedFeed = followExpected({
    api,
    siteIds: sites.map((s) => s.id),
    onAnswer: (siteId, answer, receivedAt) => {
      if (stopped) return;
      expected.answer(siteId, answer.expected, receivedAt);
      // Their names, for the check-ins they are about to make.
      queue({ kind: 'names', entries: answer.expected.entries });
    },
  });

  // ---- the view: once per frame
  const presentCount = byId('present-count');
  const inCount = byId('in-count');
  const outCount = byId('out-count');
  const streamList = byId<HTMLOListElement>('stream');
  const streamRows = new Map<number, HTMLLIElement>();
  // Writing the same text again would still make the browser lay the element out again.
  const text = (el: HTMLElement, value: string) => {
    if (el.textContent !== value) el.textContent = value;
  };
  const render = () => {
    if (model.dirty.size) {
      list.sync(model.dirty, model.present, model.names);
      model.dirty.clear();
      model.countsChanged = true;
    }
    if (model.countsChanged) {
      model.countsChanged = false;
      const today = model.today(sites);
      text(presentCount, number.format(list.size));
      text(inCount, number.format(today.in));
      text(outCount, number.format(today.out));
      chart.update(today.hours);
    }
    if (expected.changed) {
      expected.changed = false;
      waiting.sync(expected.rows());
    }
    if (model.streamChanged) {
      model.streamChanged = false;
      // Keyed by seq: a new check-in adds one row at the top and drops one at the bottom; the rest stay.
      const keep = new Set(model.stream.map((c) => c.seq));
      for (const [seq, li] of streamRows) if (!keep.has(seq)) li.remove(), streamRows.delete(seq);
      model.stream.forEach((c, i) => {
        let li = streamRows.get(c.seq);
        if (!li) {
          li = h(
            'li',
            { class: c.type },
            h('time', { datetime: c.occurredAt }, clock(Date.parse(c.occurredAt), zone(c.siteId))),
            h('span', { class: 'name' }),
            h('span', { class: 'type' }, c.type === 'in' ? 'in' : 'out'),
            h('span', { class: 'site' }, siteName(c.siteId)),
          );
          streamRows.set(c.seq, li);
        }
        text(li.children[1] as HTMLElement, model.names.get(c.employeeId) ?? c.employeeId);
        const at = streamList.children[i] ?? null;
        if (at !== li) streamList.insertBefore(li, at);
      });
    }
    if (catchingUp) connection({ state: 'catching-up', text: `Catching up: ${number.format(catchingUp.count)} events` });
  };

  const pending: Step[] = [];
  let frame = 0;
  let fallback: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    cancelAnimationFrame(frame);
    clearTimeout(fallback);
    fallback = undefined;
    const steps = pending.splice(0, STEPS_PER_FRAME);
    for (const step of steps) {
      model.apply(step);
      if (step.kind === 'event') expected.event(step.event);
    }
    render();
    if (pending.length) schedule();
  };
  // Animation frames pause in a hidden tab; the timer then keeps the queue from growing without end.
  const schedule = () => {
    if (fallback !== undefined) return;
    frame = requestAnimationFrame(flush);
    fallback = setTimeout(flush, 1000);
  };
  const queue = (step: Step) => {
    pending.push(step);
    schedule();
  };

  // ---- names of people the snapshot did not have: the presence list names them (cached by the hub)
  const naming = new Map<string, 'waiting' | 'again'>();
  const wantNames = (siteId: string) => {
    if (naming.has(siteId)) return void naming.set(siteId, 'again');
    naming.set(siteId, 'waiting');
    setTimeout(async () => {
      try {
        const { data } = await api.get<{ data: PresenceEntry[] }>(`/api/v1/presence?siteId=${encodeURIComponent(siteId)}`);
        if (!stopped) queue({ kind: 'names', entries: data });
      } catch {
        // Names are a nicety: ids stand in until the next try.
      }
      const again = naming.get(siteId) === 'again';
      naming.delete(siteId);
      if (again && !stopped) wantNames(siteId);
    }, 250);
  };

  // ---- today's check-ins up to the subscription's start; live events bring everything after
  const loadHistory = async (upTo: number) => {
    for (const s of sites) {
      const from = new Date(startOfLocalDay(Date.now(), s.timeZone)).toISOString();
      const checkins: Checkin[] = [];
      for (let after = 0; ; ) {
        const page = await api.get<{ data: Checkin[]; next: string | null }>(
          `/api/v1/checkins?siteId=${encodeURIComponent(s.id)}&from=${encodeURIComponent(from)}&after=${after}&limit=1000`,
        );
        checkins.push(...page.data.filter((c) => c.seq <= upTo));
        if (!page.next || page.data.at(-1)!.seq >= upTo) break;
        after = Number(page.next);
      }
      if (stopped) return;
      queue({ kind: 'history', checkins, upTo });
    }
  };

  // ---- the connection
  let stopped = false;
  let subscribed = false;
  let catchingUp: { target: number; count: number; quiet?: ReturnType<typeof setTimeout> } | null = null;
  let shown = '';
  const connection = (c: Connection) => {
    if (shown === c.state + c.text) return;
    shown = c.state + c.text;
    opts.onConnection(c);
  };
  const caughtUp = () => {
    if (catchingUp?.quiet) clearTimeout(catchingUp.quiet);
    catchingUp = null;
    connection({ state: 'live', text: 'Live' });
  };
  const quietly = () => {
    if (!catchingUp) return;
    clearTimeout(catchingUp.quiet);
    catchingUp.quiet = setTimeout(caughtUp, REPLAY_QUIET_MS);
  };

  const client = createDashboardClient({
    url: location.origin,
    token: opts.token,
    sites: sites.map((s) => s.id),
    socket: { reconnectionDelay: 500, reconnectionDelayMax: 3000 },
    onEvent: (event) => {
      queue({ kind: 'event', event });
      expectedFeed.event(event);
      if (!catchingUp) return;
      if (event.seq <= catchingUp.target) catchingUp.count++;
      if (event.seq >= catchingUp.target) caughtUp();
      else quietly();
    },
    onSubscribed: (ack) => {
      queue({ kind: 'snapshot', presence: ack.presence });
      expectedFeed.refresh();
      if (!subscribed) {
        subscribed = true;
        connection({ state: 'live', text: 'Live' });
        loadHistory(ack.seq).catch(() => connection({ state: 'error', text: 'Live (today’s earlier check-ins could not be loaded)' }));
        return;
      }
      // A resume: the hub replays what this board missed, up to the head it reports.
      const from = client.lastSeq ?? 0;
      if (ack.seq <= from) return caughtUp();
      catchingUp = { target: ack.seq, count: 0 };
      connection({ state: 'catching-up', text: 'Catching up: 0 events' });
      quietly();
    },
    // The events this board missed were pruned: start over from the new snapshot, as on the first subscribe.
    onReset: (ack) => {
      queue({ kind: 'reset' });
      queue({ kind: 'snapshot', presence: ack.presence });
      expectedFeed.refresh();
      caughtUp();
      loadHistory(ack.seq).catch(() => connection({ state: 'error', text: 'Live (today’s earlier check-ins could not be loaded)' }));
    },
    onError: (error) => {
      if (error.code === 'unavailable') return void setTimeout(() => !stopped && client.resubscribe({ sites: sites.map((s) => s.id) }), 1000);
      connection({ state: 'error', text: error.message });
    },
  });
  const { socket } = client;
  socket.on('disconnect', (reason) => {
    if (stopped) return;
    connection({ state: 'reconnecting', text: 'Reconnecting…' });
    // The hub closed this socket itself (a revoked token, an ended session): ask again; the handshake says whether we may.
    if (reason === 'io server disconnect') socket.connect();
  });
  socket.io.on('reconnect_attempt', (attempt) => connection({ state: 'reconnecting', text: `Reconnecting… (attempt ${attempt})` }));
  socket.on('connect_error', (err) => {
    if (stopped) return;
    if (err.message === 'unauthenticated' || err.message === 'forbidden') return opts.onRefused();
    connection({ state: 'reconnecting', text: 'Reconnecting…' });
    // The handshake refused for now (too many sockets); socket.io retries only transport failures itself.
    if (!socket.active) setTimeout(() => !stopped && socket.connect(), 5000);
  });
  connection({ state: 'connecting', text: 'Connecting…' });

  return {
    stop() {
      stopped = true;
      if (catchingUp?.quiet) clearTimeout(catchingUp.quiet);
      cancelAnimationFrame(frame);
      clearTimeout(fallback);
      expectedFeed.stop();
      waiting.stop();
      client.close();
    },
  };
}
