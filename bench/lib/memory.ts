import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = () => void;

let cachedGc: Gc | null | undefined;

/**
 * A full garbage collection, when one can be had: `global.gc` under `node --expose-gc`, else the flag set at
 * run time (tsx starts node without it). Returns whether one ran.
 */
export function collectGarbage(): boolean {
  if (cachedGc === undefined) cachedGc = findGc();
  if (cachedGc === null) return false;
  cachedGc();
  cachedGc();
  return true;
}

function findGc(): Gc | null {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as Gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : null;
  } catch {
    return null;
  }
}

const mb = 1024 * 1024;

/** Samples the process RSS on a timer and whenever `sample()` is called; keeps the maximum. */
export class RssSampler {
  readonly beforeBytes: number;
  private maxBytes: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(intervalMs = 10) {
    this.beforeBytes = process.memoryUsage.rss();
    this.maxBytes = this.beforeBytes;
    this.timer = setInterval(() => {
      this.sample();
    }, intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.maxBytes) this.maxBytes = rss;
  }

  /** Stops sampling; returns RSS before, the maximum seen and the growth, in MB. */
  stop(): { beforeMb: number; maxMb: number; growthMb: number } {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
    return { beforeMb: this.beforeBytes / mb, maxMb: this.maxBytes / mb, growthMb: (this.maxBytes - this.beforeBytes) / mb };
  }
}
