/**
 * How a long-running local program (`npm start`) is asked to stop:
 *   Ctrl-C (SIGINT)        the first asks for a graceful stop (drain, audit, report);
 *                          a second one, a second or more later, stops now (exit 130)
 *   SIGTERM                stops now (exit 143)
 *   SIGHUP (terminal shut) stops now (exit 129)
 *   a starter is gone      stops now (exit 129): npm (or sh, tsx) above us was killed
 * "Now" is the caller's `stopNow`, which must end its children synchronously (process.exit
 * runs the 'exit' handlers).
 */
import { runAncestors, watchAncestors } from './ancestors';

export interface StopSignalHandlers {
  /** The first Ctrl-C. */
  readonly graceful: () => void;
  readonly stopNow: (exitCode: number, reason: string) => void;
}

/**
 * npm passes the terminal's Ctrl-C on (and tsx's CLI, when it runs us, too), so one Ctrl-C
 * arrives two or three times within milliseconds: copies within `sameCtrlCMs` of the first
 * are that one Ctrl-C.
 */
export function onStopSignals(handlers: StopSignalHandlers, options: { sameCtrlCMs?: number; ancestors?: readonly number[] } = {}): () => void {
  const sameCtrlCMs = options.sameCtrlCMs ?? 1_000;
  let firstAt: number | undefined;
  const onInt = () => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      handlers.graceful();
    } else if (Date.now() - firstAt >= sameCtrlCMs) handlers.stopNow(130, 'second Ctrl-C');
  };
  const onTerm = () => handlers.stopNow(143, 'SIGTERM');
  const onHup = () => handlers.stopNow(129, 'SIGHUP (terminal closed)');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  const unwatch = watchAncestors(options.ancestors ?? runAncestors(), (pid) => handlers.stopNow(129, `the process that started this one (pid ${pid}) is gone`));
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
    unwatch();
  };
}
