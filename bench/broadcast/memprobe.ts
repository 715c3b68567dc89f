/**
 * Preloaded into a benchmarked server process (`node --expose-gc --import tsx --import ./bench/broadcast/memprobe.ts …`)
 * so the benchmark can read its memory without touching its code: on SIGUSR2 it runs full garbage
 * collections and writes process.memoryUsage() to BENCH_MEM_FILE. When the driver has left a path in
 * `BENCH_MEM_FILE.snapshot` (BENCH_HEAP_SNAPSHOTS), it first writes a heap snapshot there, and V8's
 * heap spaces beside it (`.spaces.json`: which space the free share sits in).
 */
import fs from 'node:fs';
import v8 from 'node:v8';

const file = process.env.BENCH_MEM_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  gc?.();
  // Again once the first collection's finalizers and weak callbacks have run.
  setTimeout(() => {
    gc?.();
    gc?.();
    if (!file) return;
    const request = `${file}.snapshot`;
    if (fs.existsSync(request)) {
      const to = fs.readFileSync(request, 'utf8');
      fs.writeFileSync(`${to}.spaces.json`, JSON.stringify({ usage: process.memoryUsage(), spaces: v8.getHeapSpaceStatistics() }));
      v8.writeHeapSnapshot(to);
      fs.rmSync(request);
    }
    fs.writeFileSync(file, JSON.stringify(process.memoryUsage()));
  }, 200);
});
