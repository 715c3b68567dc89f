import type { Me } from '../../shared/auth.js';
import { ApiError, createApi } from '../lib/api.js';
import { h } from '../lib/dom.js';

/** Roles that may watch live events. */
const WATCHERS: readonly string[] = ['dashboard', 'manager', 'admin'];

const MESSAGES: Record<string, string> = {
  invalid_credentials: 'Wrong username or password.',
  login_locked: 'Too many failed sign-ins. Wait a while, then try again.',
  validation_failed: 'Enter a username and a password.',
};

/**
 * Two ways in: a person signs in (the hub sets an httpOnly, SameSite=Strict session cookie), or a
 * wall screen is given a dashboard token once, which this browser keeps.
 */
export function showSignIn(root: HTMLElement, opts: { signedIn(): void; useToken(token: string): Promise<void> }): void {
  const loginError = h('p', { class: 'error', role: 'alert' });
  const login = h(
    'form',
    { class: 'card', 'aria-labelledby': 'signin-h' },
    h('h2', { id: 'signin-h' }, 'Sign in'),
    h('label', {}, 'Username', h('input', { name: 'username', autocomplete: 'username', required: true })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, 'Sign in'),
    loginError,
  );
  login.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(login);
    loginError.textContent = '';
    try {
      await createApi().post('/api/v1/auth/login', { username: form.get('username'), password: form.get('password') });
      opts.signedIn();
    } catch (err) {
      loginError.textContent = err instanceof ApiError ? (MESSAGES[err.error.code] ?? err.error.message) : 'The hub is not answering. Try again.';
    }
  });

  const tokenError = h('p', { class: 'error', role: 'alert' });
  const wall = h(
    'form',
    { class: 'card', 'aria-labelledby': 'wall-h' },
    h('h2', { id: 'wall-h' }, 'Wall screen'),
    h('p', {}, 'Enter a dashboard token once; this browser keeps it.'),
    h('label', {}, 'Dashboard token', h('input', { name: 'token', type: 'password', autocomplete: 'off', required: true })),
    h('button', { type: 'submit' }, 'Use token'),
    tokenError,
  );
  wall.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = String(new FormData(wall).get('token') ?? '').trim();
    tokenError.textContent = '';
    try {
      const { data } = await createApi({ token }).get<{ data: Me }>('/api/v1/auth/me');
      if (!WATCHERS.includes(data.role)) {
        tokenError.textContent = `That is a ${data.role} token; a wall screen needs a dashboard token.`;
        return;
      }
      await opts.useToken(token);
    } catch (err) {
      tokenError.textContent = err instanceof ApiError ? 'That token is not valid.' : 'The hub is not answering. Try again.';
    }
  });

  root.replaceChildren(h('div', { class: 'signin' }, login, wall));
  login.querySelector('input')?.focus();
}
