import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { SINCE_PRUNED, type ClientToServerEvents, type LiveEvent, type ServerToClientEvents } from './events.js';
import type { Checkin, CheckinInput, ErrorBody, SubscribeAck } from './schemas.js';

export type HubSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type SocketSettings = Partial<ManagerOptions & SocketOptions>;

/**
 * A socket to the hub. With a token it authenticates with it (a device or an integration); without,
 * the browser's session cookie does (a signed-in page the hub serves).
 */
function connect(url: string, token: string | undefined, settings?: SocketSettings): HubSocket {
  // WebSocket first; long-polling only as a fallback (it needs sticky routing across nodes).
  return io(url, { transports: ['websocket', 'polling'], ...(token === undefined ? {} : { auth: { token } }), ...settings });
}

export type DashboardClient = {
  socket: HubSocket;
  /** The last seq received: pass it as `since` to resume elsewhere. */
  readonly lastSeq: number | undefined;
  /** Change the filters; the hub replays what matches the new ones since lastSeq. */
  resubscribe(filter: { sites?: string[]; employees?: string[] }): void;
  close(): void;
};

/**
 * A live view of a hub's events. It subscribes on every (re)connect with the last seq it has, so
 * the hub replays whatever was missed; it drops anything at or below that seq, so each event reaches
 * onEvent once and in seq order. If the hub no longer keeps the events after that seq
 * (`since_pruned`), it subscribes afresh and hands the new snapshot to onReset: the user replaces what
 * it holds rather than patch it with a hole in between.
 */
export function createDashboardClient(opts: {
  url: string;
  /** An API token (a wall screen's); without one, the session cookie. */
  token?: string;
  sites?: string[];
  employees?: string[];
  since?: number;
  onEvent: (event: LiveEvent) => void;
  onSubscribed?: (ack: Extract<SubscribeAck, { ok: true }>) => void;
  /**
   * Events missed since lastSeq were pruned: this ack's presence replaces everything held, and the
   * events after its seq follow. Without onReset, onSubscribed gets it.
   */
  onReset?: (ack: Extract<SubscribeAck, { ok: true }>) => void;
  onError?: (error: ErrorBody) => void;
  socket?: SocketSettings;
}): DashboardClient {
  const socket = connect(opts.url, opts.token, opts.socket);
  let lastSeq = opts.since;
  let filter: { sites?: string[]; employees?: string[] } = { sites: opts.sites, employees: opts.employees };
  let resetting = false;

  const subscribe = () => {
    socket.emit('subscribe', { ...filter, since: lastSeq, packed: true }, (ack) => {
      if (!ack.ok) {
        // A superseded subscribe is answered too; the later one's ack is what counts.
        if (ack.error.code === 'superseded') return;
        if (ack.error.code !== SINCE_PRUNED) return opts.onError?.(ack.error);
        lastSeq = undefined;
        resetting = true;
        return subscribe();
      }
      // A first subscribe starts from the snapshot's seq; a resumed one keeps its own place.
      lastSeq ??= ack.seq;
      if (!resetting) return opts.onSubscribed?.(ack);
      resetting = false;
      (opts.onReset ?? opts.onSubscribed)?.(ack);
    });
  };
  socket.on('connect', subscribe);
  socket.on('events', (batch) => {
    for (const event of batch) {
      if (lastSeq !== undefined && event.seq <= lastSeq) continue;
      lastSeq = event.seq;
      opts.onEvent(event);
    }
  });

  return {
    socket,
    get lastSeq() {
      return lastSeq;
    },
    resubscribe(next) {
      filter = next;
      if (socket.connected) subscribe();
    },
    close: () => void socket.close(),
  };
}

export class KioskError extends Error {
  constructor(readonly error: ErrorBody) {
    super(error.message);
  }
}

export type KioskClient = {
  socket: HubSocket;
  /** Punch; retried on timeouts with the same eventId, so a retry can never punch twice. */
  checkin(input: CheckinInput): Promise<{ data: Checkin; created: boolean }>;
  close(): void;
};

export function createKioskClient(opts: { url: string; token?: string; timeoutMs?: number; attempts?: number; socket?: SocketSettings }): KioskClient {
  const socket = connect(opts.url, opts.token, opts.socket);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const attempts = opts.attempts ?? 3;
  return {
    socket,
    async checkin(input) {
      const punch = { ...input, eventId: input.eventId ?? globalThis.crypto.randomUUID() };
      let lastError: unknown;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const ack = await socket.timeout(timeoutMs).emitWithAck('checkin', punch);
          if (ack.ok) return { data: ack.data, created: ack.created };
          throw new KioskError(ack.error);
        } catch (err) {
          if (err instanceof KioskError) throw err;
          lastError = err;
        }
      }
      throw lastError;
    },
    close: () => void socket.close(),
  };
}
