/**
 * The kiosk's service worker: it keeps the kiosk page and its hashed assets (named at build time)
 * so that the kiosk loads, and its queued punches are kept, while the hub is out of reach. The page
 * comes from the network when it can (a new build shows at once), else from the cache; API calls
 * are not touched.
 */
export {};

declare const __CACHED__: string[];
declare const __VERSION__: string;

type ExtendableEvent = Event & { waitUntil(work: Promise<unknown>): void };
type FetchEvent = ExtendableEvent & { request: Request; respondWith(response: Promise<Response>): void };
type Scope = {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
};

const worker = self as unknown as Scope;
const CACHE = `kiosk-${__VERSION__}`;
const PAGE = '/kiosk';

worker.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(__CACHED__))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('kiosk-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => worker.clients.claim()),
  );
});

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== worker.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(fetch(event.request).catch(() => caches.match(PAGE).then((cached) => cached ?? Response.error())));
  } else if (__CACHED__.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((cached) => cached ?? fetch(event.request)));
  }
});
