import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { UnavailableError } from '../errors.js';

/**
 * A cluster's /metrics is the sum over its workers. The primary only routes connections (it serves no
 * HTTP), so whichever worker a scrape reaches asks the primary, the primary asks every ready worker
 * for its registry, sums them with prom-client's aggregator and answers the asker.
 */
type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];
type ToPrimary = { type: 'hub:metrics:ask'; id: number } | { type: 'hub:metrics:part'; id: number; metrics?: WorkerMetrics; error?: string };
type ToWorker = { type: 'hub:metrics:collect'; id: number } | { type: 'hub:metrics:answer'; id: number; text?: string; error?: string };

// A worker that does not answer within this fails the scrape (503), never hangs it.
const COLLECT_TIMEOUT_MS = 3000;
const ASK_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 1000;

const isOurs = (m: unknown): m is { type: string; id: number } => typeof (m as { type?: unknown })?.type === 'string' && (m as { type: string }).type.startsWith('hub:metrics:');

/** The primary's side, installed once: `ready` are the workers serving now (a starting one has nothing to tell). */
export function sumWorkerMetrics(ready: () => readonly Worker[]): void {
  let next = 0;
  const collecting = new Map<number, { parts: WorkerMetrics[]; waiting: Set<Worker>; fail(err: Error): void; finish(): void }>();

  const collect = () =>
    new Promise<string>((resolve, reject) => {
      const id = ++next;
      const workers = ready();
      const timer = setTimeout(() => entry.fail(new Error(`a worker did not send its metrics within ${COLLECT_TIMEOUT_MS} ms`)), COLLECT_TIMEOUT_MS);
      const entry = {
        parts: [] as WorkerMetrics[],
        waiting: new Set(workers),
        fail(err: Error) {
          clearTimeout(timer);
          collecting.delete(id);
          reject(err);
        },
        finish() {
          clearTimeout(timer);
          collecting.delete(id);
          AggregatorRegistry.aggregate(entry.parts).metrics().then(resolve, reject);
        },
      };
      collecting.set(id, entry);
      for (const worker of workers) worker.send({ type: 'hub:metrics:collect', id } satisfies ToWorker);
      if (!workers.length) entry.finish();
    });

  cluster.on('message', (worker: Worker, m: ToPrimary) => {
    if (!isOurs(m)) return;
    if (m.type === 'hub:metrics:ask') {
      const answer = (a: Omit<Extract<ToWorker, { type: 'hub:metrics:answer' }>, 'type' | 'id'>) =>
        worker.isConnected() && worker.send({ type: 'hub:metrics:answer', id: m.id, ...a } satisfies ToWorker);
      return void collect().then(
        (text) => answer({ text }),
        (err: Error) => answer({ error: err.message }),
      );
    }
    const entry = collecting.get(m.id);
    if (!entry?.waiting.delete(worker)) return;
    if (m.error !== undefined) return entry.fail(new Error(m.error));
    entry.parts.push(m.metrics ?? []);
    if (!entry.waiting.size) entry.finish();
  });
  // A worker that died has no metrics left to send (its counters died with it).
  cluster.on('exit', (worker) => {
    for (const entry of collecting.values()) if (entry.waiting.delete(worker) && !entry.waiting.size) entry.finish();
  });
}

/** A worker's side: send its registry when the primary collects; the returned scrape asks the primary for the sum. */
export function clusterScrape(registry: Registry): () => Promise<string> {
  let next = 0;
  const asking = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  const send = (m: ToPrimary) => process.send?.(m, undefined, undefined, () => undefined);

  process.on('message', (m: ToWorker) => {
    if (!isOurs(m)) return;
    if (m.type === 'hub:metrics:collect') {
      return void registry.getMetricsAsJSON().then(
        (metrics) => send({ type: 'hub:metrics:part', id: m.id, metrics }),
        (err: Error) => send({ type: 'hub:metrics:part', id: m.id, error: err.message }),
      );
    }
    const asked = asking.get(m.id);
    asking.delete(m.id);
    if (m.text !== undefined) asked?.resolve(m.text);
    else asked?.reject(new UnavailableError(`the cluster's metrics could not be collected: ${m.error}`));
  });

  return () =>
    new Promise<string>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        asking.delete(id);
        reject(new UnavailableError("the cluster's metrics could not be collected in time"));
      }, ASK_TIMEOUT_MS);
      asking.set(id, {
        resolve(text) {
          clearTimeout(timer);
          resolve(text);
        },
        reject(err) {
          clearTimeout(timer);
          reject(err);
        },
      });
      send({ type: 'hub:metrics:ask', id });
    });
}
