/**
 * Preloaded into a benchmarked server process (`node --expose-gc --import tsx --import ./bench/broadcast/memprobe.ts …`)
 * so the benchmark can read its memory without touching its code: on SIGUSR2 it runs full garbage
 * collections and writes process.memoryUsage() to BENCH_MEM_FILE.
 */
import fs from 'node:fs';

const file = process.env.BENCH_MEM_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  gc?.();
  // Again once the first collection's finalizers and weak callbacks have run.
  setTimeout(() => {
    gc?.();
    gc?.();
    if (file) fs.writeFileSync(file, JSON.stringify(process.memoryUsage()));
  }, 200);
});
