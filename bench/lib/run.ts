/**
 * A bench's life cycle: it makes a database, Redis keys and child processes, and must remove them
 * however it ends (done, failed or interrupted).
 */
import { say } from './print.js';

const steps: Array<() => Promise<void>> = [];

/** A step for the end; steps run in reverse order, so children stop before their database is dropped. */
export function onCleanup(step: () => Promise<void>): void {
  steps.push(step);
}

async function cleanUp(): Promise<void> {
  for (const step of steps.splice(0).reverse()) await step().catch((err: unknown) => say(`cleanup step failed: ${String(err)}`));
}

/** Runs a bench's main: its exit code, 1 if it throws, 130 on Ctrl-C; cleans up in every case. */
export function run(main: () => Promise<number>): void {
  const onSignal = () => {
    say('interrupted: cleaning up');
    void cleanUp().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void main()
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      return 1;
    })
    .then(async (code) => {
      await cleanUp();
      process.exit(code);
    });
}
