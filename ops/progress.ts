/** A progress bar on stderr when it is a terminal; silent otherwise (logs and pipes stay clean). */
import type { OpsIo } from './common';

export interface Progress {
  /** `done` items of about `total` (total 0: unknown). */
  update(done: number, detail?: string): void;
  finish(): void;
}

const WIDTH = 30;

export function progressBar(io: OpsIo, label: string, total: number): Progress {
  if (!io.isTTY) return { update: () => undefined, finish: () => undefined };
  let last = 0;
  let drawn = false;
  const draw = (done: number, detail = '') => {
    const share = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(share * WIDTH);
    const bar = total > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(share * 100)}%` : '[scanning]';
    io.stderr(`\r${label} ${bar} ${done}${total > 0 ? `/~${total}` : ''} ${detail}\u001b[K`);
    drawn = true;
  };
  return {
    update(done, detail) {
      const now = Date.now();
      if (now - last < 100) return; // at most 10 redraws a second
      last = now;
      draw(done, detail);
    },
    finish() {
      if (drawn) io.stderr('\n');
    },
  };
}
