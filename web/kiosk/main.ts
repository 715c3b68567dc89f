import type { Checkin } from '../../shared/schemas.js';
import { ApiError, createApi, Unreachable, type Api } from '../lib/api.js';
import { byId, h } from '../lib/dom.js';
import { clock } from '../lib/time.js';
import { openOutbox, type KnownBadge, type QueuedPunch } from './outbox.js';
import { pinScreen } from './pin.js';
import { forgetConfig, loadConfig, setupScreen } from './setup.js';
import { createSync, toInput } from './sync.js';
import './kiosk.css';

// A live punch waits this long for the hub, then is kept for later: an answer within seconds either way.
const LIVE_TIMEOUT_MS = 3000;
const SYNC_TIMEOUT_MS = 15_000;
const READY_AFTER_MS = { ok: 4000, queued: 5000, error: 7000 };
const PIN_IDLE_MS = 30_000;
const PROBE_MS = 30_000;

/** What a refusal means for the person at the kiosk, and what to do next. */
const REFUSALS: Record<string, [string, string]> = {
  unknown_badge: ['Unknown badge', 'This badge is not registered. Ask a manager.'],
  forbidden: ['Not for this site', 'This badge is not registered for this site. Ask a manager.'],
  employee_inactive: ['Badge not active', 'Ask a manager to reactivate it.'],
  site_inactive: ['Site closed', 'This site takes no check-ins at the moment.'],
  unauthenticated: ['Kiosk not signed in', 'Its token was revoked or has expired. Ask an admin to set it up again.'],
  validation_failed: ['Badge not readable', 'Scan it again, or ask a manager.'],
};
const WRONG_PIN = 'Wrong PIN. Try again. After several wrong PINs this badge is locked for a while.';

const main = byId('main');
const siteLabel = byId('site');
const clockEl = byId('clock');
const queueEl = byId('queue');

const outbox = await openOutbox();
let config = loadConfig();
let reachable = navigator.onLine;
let waiting = 0;
let notice = '';
let screen: 'setup' | 'ready' | 'pin' | 'busy' | 'result' = 'setup';
let leave: ReturnType<typeof setTimeout> | undefined;
const sendingLive = new Set<string>();

/** Calls with the kiosk's token that also tell the status line whether the hub is in reach. */
function hub(timeoutMs = LIVE_TIMEOUT_MS): Api {
  const api = createApi({ token: config?.token, timeoutMs });
  const track = async <T>(call: Promise<T>): Promise<T> => {
    try {
      const result = await call;
      setReachable(true);
      return result;
    } catch (err) {
      setReachable(!(err instanceof Unreachable));
      throw err;
    }
  };
  return { get: (path) => track(api.get(path)), post: (path, body) => track(api.post(path, body)) };
}

function setReachable(now: boolean) {
  reachable = now;
  showQueue();
}

async function countWaiting() {
  waiting = (await outbox.all()).filter((p) => !sendingLive.has(p.eventId)).length;
  showQueue();
}

function showQueue() {
  const parts = [reachable ? 'Online' : 'Offline'];
  if (waiting) parts.push(`${waiting} ${waiting === 1 ? 'punch' : 'punches'} waiting to sync`);
  queueEl.textContent = parts.join(' · ');
  queueEl.dataset.state = !reachable ? 'offline' : waiting ? 'waiting' : 'online';
}

const sync = createSync({
  api: () => hub(SYNC_TIMEOUT_MS),
  outbox,
  sendingLive,
  onReport: (report) => {
    if (report.refused.length) {
      const [first] = report.refused;
      notice = `${report.refused.length} saved ${report.refused.length === 1 ? 'punch was' : 'punches were'} refused by the hub: ${first!.punch.name ?? `badge ${first!.punch.badge}`}: ${first!.message}`;
      if (screen === 'ready') byId('notice').textContent = notice;
    }
    void countWaiting();
  },
});

function show(name: typeof screen, ...children: Node[]) {
  clearTimeout(leave);
  screen = name;
  main.dataset.screen = name;
  main.replaceChildren(...children);
}

// ---- setting up: once per device
function setup() {
  siteLabel.textContent = 'Kiosk setup';
  setupScreen(
    (form, focus) => (show('setup', form), focus.focus()),
    (made) => ((config = made), start()),
  );
}

// ---- the kiosk at work
function start() {
  siteLabel.textContent = config!.site.name;
  tick();
  ready();
  void probe();
  void sync.now();
}

function ready() {
  const badge = h('input', { id: 'badge', name: 'badge', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', enterkeyhint: 'go', 'aria-describedby': 'notice' });
  const again = h('button', { type: 'button', class: 'quiet small' }, 'Set up again');
  const form = h(
    'form',
    { class: 'scan' },
    h('label', { for: 'badge', class: 'prompt' }, 'Scan your badge'),
    badge,
    h('button', { type: 'submit', class: 'go' }, 'Check in or out'),
    h('p', { id: 'notice', class: 'notice' }, notice),
    again,
  );
  // A keyboard-wedge scanner types the badge, then Enter: a plain form submit.
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = badge.value.trim();
    if (value) void onBadge(value);
  });
  again.addEventListener('click', () => {
    if (!confirm('Set this kiosk up again? Punches waiting to sync are kept.')) return;
    forgetConfig();
    config = null;
    tick();
    setup();
  });
  show('ready', form);
  badge.focus();
}

function busy() {
  show('busy', h('p', { class: 'busy', role: 'status' }, 'One moment…'));
}

function result(kind: 'ok' | 'queued' | 'error', headline: string, detail?: string) {
  const done = h('button', { type: 'button', class: 'quiet' }, 'Done');
  done.addEventListener('click', ready);
  show('result', h('div', { class: `result ${kind}`, role: 'alert' }, h('p', { class: 'headline' }, headline), detail ? h('p', { class: 'detail' }, detail) : null, done));
  done.focus();
  leave = setTimeout(ready, READY_AFTER_MS[kind]);
}

function refused(err: unknown) {
  if (!(err instanceof ApiError)) return result('error', 'Something went wrong', 'Please try again.');
  if (err.error.code === 'pin_attempts_exceeded') {
    const seconds = Number((err.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds ?? 0);
    const wait = seconds > 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds || 'a few'} seconds`;
    return result('error', 'Badge locked', `Too many wrong PINs. Try again in ${wait}, or ask a manager.`);
  }
  const [headline, detail] = REFUSALS[err.error.code] ?? ['Not recorded', err.error.message];
  result('error', headline, detail);
}

async function onBadge(badge: string) {
  busy();
  let known: KnownBadge | undefined;
  try {
    const { data } = await hub().get<{ data: Omit<KnownBadge, 'badge'> }>(`/api/v1/badges/${encodeURIComponent(badge)}`);
    known = { ...data, badge };
    await outbox.rememberBadge(known);
  } catch (err) {
    if (!(err instanceof Unreachable)) return refused(err);
    // Offline: a badge seen before is known; for another, the PIN is asked for (skippable), and the hub judges later.
    known = await outbox.badge(badge);
    if (!known) return askPin(badge, undefined, true);
  }
  if (!known.active) return refused(new ApiError(409, { code: 'employee_inactive', message: 'inactive' }));
  if (known.hasPin) return askPin(badge, known.name, false);
  return punch({ badge, name: known.name });
}

function askPin(badge: string, name: string | undefined, unknownOffline: boolean, message = '') {
  const idle = () => {
    clearTimeout(leave);
    leave = setTimeout(ready, PIN_IDLE_MS);
  };
  const { form, field } = pinScreen({
    title: name ? `Hello, ${name}` : `Badge ${badge}`,
    message,
    offerNoPin: unknownOffline,
    onPin: (pin) => void punch({ badge, pin, name }),
    onNoPin: () => void punch({ badge }),
    onCancel: ready,
    onActivity: idle,
  });
  show('pin', form);
  field.focus();
  idle();
}

async function punch(p: { badge: string; pin?: string; name?: string }) {
  busy();
  const { site, deviceId } = config!;
  const queued: QueuedPunch = { eventId: crypto.randomUUID(), badge: p.badge, type: 'toggle', siteId: site.id, deviceId, occurredAt: new Date().toISOString() };
  if (p.pin) queued.pin = p.pin;
  if (p.name) queued.name = p.name;
  const who = p.name ?? `Badge ${p.badge}`;
  // Stored before it is sent: if the tab closes or the hub does not answer, the punch is still here.
  await outbox.put(queued);
  sendingLive.add(queued.eventId);
  let kept = false;
  try {
    const { data } = await hub().post<{ data: Checkin }>('/api/v1/checkins', toInput(queued, false));
    await outbox.remove([queued.eventId]);
    result('ok', `${data.type === 'in' ? 'Checked in' : 'Checked out'}: ${who}, ${clock(Date.parse(data.occurredAt), site.timeZone)}`);
  } catch (err) {
    const code = err instanceof ApiError ? err.error.code : 'unreachable';
    if (code === 'unreachable' || code === 'unauthenticated' || code === 'rate_limited') {
      kept = true;
      const why = code === 'unauthenticated' ? 'This kiosk’s token no longer works: ask an admin.' : 'The hub is out of reach.';
      result('queued', `Saved: ${who}, ${clock(Date.parse(queued.occurredAt), site.timeZone)}`, `${why} It will be sent as soon as it can.`);
    } else {
      await outbox.remove([queued.eventId]);
      if (code === 'invalid_pin') askPin(p.badge, p.name, false, WRONG_PIN);
      else refused(err);
    }
  } finally {
    sendingLive.delete(queued.eventId);
    await countWaiting();
  }
  if (kept) void sync.now();
}

// ---- scanning from anywhere: a scan while an answer shows starts the next punch
document.addEventListener('keydown', (event) => {
  // Printable keys only; Space stays with the focused button.
  if (event.key.length !== 1 || event.key === ' ' || event.ctrlKey || event.metaKey || event.altKey) return;
  if (screen !== 'result' && (screen !== 'ready' || document.activeElement?.id === 'badge')) return;
  // The key that starts a scan must not be lost on the way to the badge field.
  event.preventDefault();
  if (screen === 'result') ready();
  const badge = byId<HTMLInputElement>('badge');
  badge.focus();
  badge.value += event.key;
});

/** The site's time in the header, as its people read it. */
function tick() {
  const now = config ? clock(Date.now(), config.site.timeZone) : '';
  if (clockEl.textContent !== now) clockEl.textContent = now;
}
setInterval(tick, 1000);

/** Whether the hub answers (its open health route): the status line says so even with nothing to send. */
const probe = () => hub().get('/api/v1/attendance/health').catch(() => undefined);
setInterval(probe, PROBE_MS);
addEventListener('online', () => void probe().then(() => sync.now()));
addEventListener('offline', () => setReachable(false));
// The kiosk loads, and its queue survives, without the hub: the worker keeps the page and its assets.
navigator.serviceWorker?.register('/kiosk-sw.js', { scope: '/kiosk' }).catch(() => undefined);

showQueue();
void countWaiting();
if (config) start();
else setup();
