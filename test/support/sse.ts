import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { LiveEvent } from '../../shared/events.js';

/**
 * A GET /api/v1/events/stream as a plain HTTP client reads it: fetch with a streaming reader and the
 * parser the `eventsource` package uses, so that comment lines (heartbeats) are seen too.
 */
export type Stream = {
  status: number;
  /** A refused stream's JSON answer. */
  body: any;
  headers: Headers;
  /** Every message, `ready` first. */
  messages: EventSourceMessage[];
  comments: string[];
  /** How it ended: the hub finished it (`end`), the connection broke (`error`), or not yet. */
  ended: 'end' | 'error' | null;
  /** The events (every message but `ready`), as their data. */
  events(): LiveEvent[];
  seqs(): number[];
  close(): void;
};

export async function openStream(
  hub: { url: string },
  query: string,
  opts: { token: string | null; headers?: Record<string, string> },
): Promise<Stream> {
  const controller = new AbortController();
  const res = await fetch(`${hub.url}/api/v1/events/stream${query}`, {
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), accept: 'text/event-stream', ...opts.headers },
    signal: controller.signal,
  });
  const stream: Stream = {
    status: res.status,
    body: undefined,
    headers: res.headers,
    messages: [],
    comments: [],
    ended: null,
    events: () => stream.messages.filter((m) => m.event !== 'ready').map((m) => JSON.parse(m.data)),
    seqs: () => stream.events().map((e) => e.seq),
    close: () => controller.abort(),
  };
  if (res.status !== 200) {
    stream.body = await res.json();
    return stream;
  }
  const parser = createParser({ onEvent: (m) => stream.messages.push(m), onComment: (c) => stream.comments.push(c) });
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
      stream.ended = 'end';
    } catch {
      stream.ended = 'error';
    }
  })();
  return stream;
}

/** A stream's text up to the end of its first message, for checking the answer's shape; the rest is left unread. */
export async function firstMessage(res: Response): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}
