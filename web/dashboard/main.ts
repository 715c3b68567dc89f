import type { Me } from '../../shared/auth.js';
import type { Site } from '../../shared/directory.js';
import { all, ApiError, createApi, type Api } from '../lib/api.js';
import { byId, h } from '../lib/dom.js';
import { startBoard, type Connection } from './board.js';
import { showSignIn } from './signin.js';
import './dashboard.css';

/** A wall screen's dashboard token, entered once; a person's session lives in an httpOnly cookie instead. */
const TOKEN_KEY = 'hub.dashboard.token';
const SITES_KEY = 'hub.dashboard.sites';

const main = byId('main');
const status = byId('status');
const account = byId('account');

function setConnection(c: Connection) {
  status.dataset.state = c.state;
  status.textContent = c.text;
}

/** Who we are: the kept token if there is one, else the session cookie; null when neither works. */
async function whoAmI(): Promise<{ api: Api; token?: string; me: Me } | null> {
  const token = localStorage.getItem(TOKEN_KEY) ?? undefined;
  const api = createApi({ token });
  try {
    const { data } = await api.get<{ data: Me }>('/api/v1/auth/me');
    return { api, token, me: data };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      if (token) localStorage.removeItem(TOKEN_KEY);
      return null;
    }
    throw err;
  }
}

async function boot(): Promise<void> {
  account.replaceChildren();
  setConnection({ state: 'connecting', text: 'Signing in…' });
  let who;
  let sites: Site[] = [];
  try {
    who = await whoAmI();
    if (who) sites = await all<Site>(who.api, '/api/v1/sites');
  } catch {
    setConnection({ state: 'error', text: 'The hub is not answering; retrying…' });
    setTimeout(boot, 3000);
    return;
  }
  if (!who) {
    setConnection({ state: 'error', text: 'Not signed in' });
    return showSignIn(main, {
      signedIn: boot,
      useToken: (token) => {
        localStorage.setItem(TOKEN_KEY, token);
        return boot();
      },
    });
  }
  const { api, token, me } = who;
  const signOut = h('button', { type: 'button', class: 'quiet' }, token ? 'Forget token' : 'Sign out');
  signOut.addEventListener('click', async () => {
    board?.stop();
    if (token) localStorage.removeItem(TOKEN_KEY);
    else await api.post('/api/v1/auth/logout').catch(() => undefined);
    void boot();
  });
  account.replaceChildren(h('span', { class: 'who' }, me.name), signOut);

  if (sites.length === 0) {
    setConnection({ state: 'error', text: 'No sites' });
    main.replaceChildren(h('p', { class: 'card' }, `${me.name} may not see any site.`));
    return;
  }

  const picker = h('fieldset', { class: 'sites' }, h('legend', {}, 'Sites'));
  const host = h('div', { class: 'host' });
  main.replaceChildren(picker, host);
  const saved = new Set<string>(JSON.parse(localStorage.getItem(SITES_KEY) ?? '[]'));
  // A screen shows what it showed before; a first visit, every site (up to a handful).
  const initially = sites.some((s) => saved.has(s.id)) ? sites.filter((s) => saved.has(s.id)) : sites.slice(0, sites.length <= 8 ? sites.length : 1);
  const boxes = sites.map((s) => {
    const box = h('input', { type: 'checkbox', value: s.id, checked: initially.includes(s) });
    picker.append(h('label', { class: 'chip' }, box, ` ${s.name}`, s.active ? '' : ' (inactive)'));
    return box;
  });

  let board: ReturnType<typeof startBoard> | undefined;
  const show = () => {
    board?.stop();
    const chosen = sites.filter((_, i) => boxes[i]!.checked);
    localStorage.setItem(SITES_KEY, JSON.stringify(chosen.map((s) => s.id)));
    if (chosen.length === 0) {
      host.replaceChildren(h('p', { class: 'card' }, 'Choose at least one site.'));
      setConnection({ state: 'error', text: 'No site chosen' });
      board = undefined;
      return;
    }
    board = startBoard(host, { api, token, sites: chosen, onConnection: setConnection, onRefused: refused });
  };
  // The live connection was refused: signed out (back to sign-in), or refused for now (try again shortly).
  const refused = async () => {
    board?.stop();
    board = undefined;
    if ((await whoAmI().catch(() => undefined)) === null) return boot();
    setConnection({ state: 'error', text: 'Live updates were refused; retrying…' });
    setTimeout(() => board ?? show(), 5000);
  };
  picker.addEventListener('change', show);
  show();
}

void boot();
