import type { Credential } from './actor.js';

/** A credential that stopped being valid before its time: a revoked token, an ended session. */
export type Revoked = { kind: 'token' | 'session'; id: string };

export type Revocations = ReturnType<typeof createRevocations>;

/**
 * Where revocations go from the services that make them: this node's listeners (the credential cache,
 * the sockets) and, through `announce`, the other nodes. A node that misses an announcement still
 * stops trusting the credential within AUTH_CACHE_SECONDS, when its cached lookup expires.
 */
export function createRevocations(deps: { announce?: (revoked: Revoked[]) => void } = {}) {
  const listeners: Array<(revoked: Revoked[]) => void> = [];
  const tell = (revoked: Revoked[]) => {
    for (const listener of listeners) listener(revoked);
  };
  return {
    /** Called by services after the revoking transaction commits. */
    revoke(revoked: Revoked[]) {
      if (!revoked.length) return;
      tell(revoked);
      deps.announce?.(revoked);
    },
    /** Revocations another node made. */
    received: tell,
    subscribe(listener: (revoked: Revoked[]) => void) {
      listeners.push(listener);
    },
  };
}

export const revokes = (revoked: Revoked[], credential: Credential) =>
  (credential.kind === 'token' || credential.kind === 'session') && revoked.some((r) => r.kind === credential.kind && r.id === credential.id);
