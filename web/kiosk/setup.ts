import type { Me } from '../../shared/auth.js';
import type { Site } from '../../shared/directory.js';
import { all, ApiError, createApi } from '../lib/api.js';
import { h } from '../lib/dom.js';

/** Set once per device: the kiosk token, its site (with the zone its people read times in) and a device id. */
export type Config = { token: string; site: Pick<Site, 'id' | 'name' | 'timeZone'>; deviceId: string };

const CONFIG_KEY = 'hub.kiosk';
// Kept apart from the config, so a kiosk set up again keeps its device id.
const DEVICE_KEY = 'hub.kiosk.device';

export function loadConfig(): Config | null {
  try {
    return JSON.parse(localStorage.getItem(CONFIG_KEY) ?? 'null');
  } catch {
    return null;
  }
}

export function forgetConfig(): void {
  localStorage.removeItem(CONFIG_KEY);
}

/** Two steps: a kiosk token (checked against the hub), then one of the sites it may punch at. */
export function setupScreen(show: (form: HTMLElement, focus: HTMLElement) => void, done: (config: Config) => void): void {
  const error = h('p', { class: 'error', role: 'alert' });
  const token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true });
  const form = h(
    'form',
    { class: 'card setup' },
    h('h2', {}, 'Set up this kiosk'),
    h('p', {}, 'Enter the kiosk token an admin made for this device, then choose its site.'),
    h('label', { for: 'token' }, 'Kiosk token'),
    token,
    h('button', { type: 'submit' }, 'Continue'),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const secret = token.value.trim();
    const api = createApi({ token: secret });
    try {
      const { data: me } = await api.get<{ data: Me }>('/api/v1/auth/me');
      if (me.role !== 'kiosk') return void (error.textContent = `That is a ${me.role} token; a kiosk needs a kiosk token.`);
      chooseSite(secret, await all<Site>(api, '/api/v1/sites?active=true'));
    } catch (err) {
      error.textContent = err instanceof ApiError ? 'That token is not valid.' : 'The hub is not answering. Try again.';
    }
  });
  show(form, token);

  function chooseSite(secret: string, sites: Site[]) {
    if (!sites.length) return void (error.textContent = 'This token may not check in at any active site.');
    const select = h('select', { id: 'site-select', name: 'site' }, ...sites.map((s) => h('option', { value: s.id }, `${s.name} (${s.timeZone})`)));
    const step = h(
      'form',
      { class: 'card setup' },
      h('h2', {}, 'Which site is this kiosk at?'),
      h('label', { for: 'site-select' }, 'Site'),
      select,
      h('button', { type: 'submit' }, 'Start kiosk'),
    );
    step.addEventListener('submit', (event) => {
      event.preventDefault();
      const site = sites.find((s) => s.id === select.value)!;
      const deviceId = localStorage.getItem(DEVICE_KEY) ?? `kiosk-${crypto.randomUUID()}`;
      localStorage.setItem(DEVICE_KEY, deviceId);
      const config: Config = { token: secret, site: { id: site.id, name: site.name, timeZone: site.timeZone }, deviceId };
      localStorage.setItem(CONFIG_KEY, JSON.stringify(config));
      done(config);
    });
    show(step, select);
  }
}
