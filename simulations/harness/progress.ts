import { SingleBar } from 'cli-progress';

/** How a run reports how far it got: `done` of `total` units (events, tasks, runs). */
export type ProgressListener = (done: number, total: number) => void;

/**
 * A progress bar on stderr that appears only for a person watching (stderr is a TTY) and only
 * once the run has lasted `delayMs` of wall-clock time: short runs print nothing extra.
 * The wall clock is read here, in the shell; the simulation itself only knows virtual time.
 */
export function progressBar(options: { stream?: NodeJS.WriteStream; delayMs?: number; label: string }): { listener: ProgressListener; stop(): void } {
  const stream = options.stream ?? process.stderr;
  const delayMs = options.delayMs ?? 2000;
  if (!stream.isTTY) return { listener: () => {}, stop: () => {} };
  const startedAt = performance.now();
  let bar: SingleBar | undefined;
  return {
    listener(done, total) {
      if (bar === undefined) {
        if (performance.now() - startedAt < delayMs) return;
        bar = new SingleBar({ stream, format: `${options.label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`, hideCursor: true, clearOnComplete: true });
        bar.start(total, done);
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}
