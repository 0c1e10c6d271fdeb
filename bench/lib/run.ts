// The benchmark's run: its output, named steps (for the watchdog and failure messages), the checks
// that failed, and everything started stopped in reverse order whatever happens (failure, Ctrl-C, timeout).
import { sleep } from '../../test/harness/processes.js';

export const out = (line = '') => process.stdout.write(`${line}\n`);
export const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
/** `run` stops something the benchmark started; at the end, in reverse order of registration. */
export const onCleanup = (name: string, run: () => Promise<unknown>) => cleanups.push({ name, run });
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await Promise.race([run(), sleep(15_000).then(() => Promise.reject(new Error('timed out')))]);
      } catch (error) {
        progress(`cleanup of ${name} failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

const errorDetails: (() => string)[] = [];
/** `describe` tells more when a step fails (e.g. the apps' logs), or gives ''. */
export const onError = (describe: () => string) => errorDetails.push(describe);

let currentStep = 'setup';
/** The step running now (the last one `step` began). */
export const runningStep = () => currentStep;
export async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  currentStep = name;
  progress(name);
  return run();
}

const failures: string[] = [];
/** A check that did not hold: the run goes on, and exits with status 2 at the end. */
export const checkFailed = (what: string) => failures.push(what);

/** Runs the benchmark and exits: 0, 1 when a step threw, 2 when a check failed. */
export async function runBench(main: () => Promise<void>, timeoutSeconds: number): Promise<never> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping everything the benchmark started`);
      void cleanup().then(() => process.exit(130));
    });
  }
  const watchdog = setTimeout(() => {
    out(`\n!!! benchmark step "${currentStep}" did not finish within ${timeoutSeconds} s overall; stopping everything`);
    void cleanup().then(() => process.exit(1));
  }, timeoutSeconds * 1000);
  watchdog.unref();

  let exitCode = 0;
  try {
    await main();
    if (failures.length > 0) {
      out(`\n!!! ${failures.length} CHECK(S) FAILED:`);
      for (const f of failures) out(`!!!   ${f}`);
      exitCode = 2;
    }
  } catch (error) {
    out(`\n!!! benchmark step "${currentStep}" failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    for (const describe of errorDetails) {
      const details = describe();
      if (details) out(details);
    }
    exitCode = 1;
  } finally {
    await cleanup();
  }
  process.exit(exitCode);
}
