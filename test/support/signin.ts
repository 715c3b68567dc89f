import assert from 'node:assert/strict';
import type { Role, User } from '../../shared/auth.js';
import { api } from './hub.js';

type Hub = { url: string; adminToken: string };

/** A person who signs in, made over REST by the hub's admin. */
export async function makeUser(hub: Hub, u: { username: string; password: string; role?: 'admin' | 'manager'; sites?: string[] }): Promise<User> {
  const res = await api(hub, 'POST', '/api/v1/users', { username: u.username, name: `User ${u.username}`, password: u.password, role: u.role ?? 'manager', sites: u.sites ?? ['S1'] });
  assert.equal(res.status, 201, res.text);
  return res.body.data;
}

/** A sign-in: the answer, and the session secret its Set-Cookie carries (if any). */
export async function login(hub: { url: string }, username: string, password: string) {
  const res = await api(hub, 'POST', '/api/v1/auth/login', { username, password }, { authorization: '' });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('hub_session=')) ?? null;
  const secret = setCookie ? decodeURIComponent(setCookie.slice('hub_session='.length).split(';')[0]!) : null;
  return { ...res, setCookie, secret };
}

/** A sign-in that must succeed: its session secret. */
export async function session(hub: { url: string }, username: string, password: string): Promise<string> {
  const res = await login(hub, username, password);
  assert.equal(res.status, 200, res.text);
  assert.ok(res.secret, 'a session cookie');
  return res.secret;
}

/** A token made over REST by the hub's admin: its id and secret. */
export async function makeToken(hub: Hub, input: { name?: string; role: Role; sites?: string[]; expiresAt?: string }): Promise<{ id: string; token: string }> {
  const res = await api(hub, 'POST', '/api/v1/tokens', { name: input.name ?? `test ${input.role}`, ...input });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.data.id, token: res.body.data.token };
}

/** Headers that present a session cookie, without a token. */
export const withCookie = (secret: string, more: Record<string, string> = {}) => ({ authorization: '', cookie: `hub_session=${secret}`, ...more });

/** Headers that present a bearer token. */
export const withToken = (token: string, more: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...more });
