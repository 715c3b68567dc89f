import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ANSWER_MS } from './hostile.js';

export type SocketSettings = Partial<ManagerOptions & SocketOptions>;

/** How a handshake ended: connected (the socket is open, the caller closes it), or refused with connect_error's message and data. */
export type Opened = { socket: Socket; refused: null } | { socket: Socket; refused: { code: string; data: unknown } };

/** Opens a socket without reconnection; rejects if neither connect nor connect_error comes within `ms`. */
export function open(url: string, settings: SocketSettings, ms = ANSWER_MS): Promise<Opened> {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: ms, ...settings });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no connect or connect_error within ${ms} ms`));
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ socket, refused: null });
    });
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      clearTimeout(timer);
      socket.close();
      resolve({ socket, refused: { code: err.message, data: err.data } });
    });
  });
}

/** A socket that must connect. */
export async function connected(url: string, settings: SocketSettings): Promise<Socket> {
  const opened = await open(url, settings);
  if (opened.refused) throw new Error(`socket refused: ${opened.refused.code} ${JSON.stringify(opened.refused.data)}`);
  return opened.socket;
}

/** The reason the socket disconnects, within `ms`. */
export function disconnection(socket: Socket, ms = ANSWER_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still connected after ${ms} ms`)), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** An event's ack, within ANSWER_MS. */
export function ack<T = unknown>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(ANSWER_MS).emitWithAck(event, ...args) as Promise<T>;
}
