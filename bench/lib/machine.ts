import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The machine a run was made on, as printed in the table header and the JSON output. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  /** The filesystem holding the temp dir, from `df`: device, type and size, or 'unknown'. */
  readonly disk: string;
}

export function machineInfo(dir: string = os.tmpdir()): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    disk: diskOf(dir),
  };
}

/** `df -hT` gives device, type and size; plain `df -h` (no -T on some systems) gives device and size. */
function diskOf(dir: string): string {
  for (const [flags, typed] of [['-hT', true], ['-h', false]] as const) {
    try {
      const out = execFileSync('df', [flags, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      // The second line; a long device name may wrap the rest onto a third line.
      const fields = out.trim().split('\n').slice(1).join(' ').trim().split(/\s+/);
      const [device, ...others] = fields;
      if (device === undefined || device === '' || others.length < 2) continue;
      return typed ? `${device} ${others[0] ?? ''} ${others[1] ?? ''}`.trim() : `${device} ${others[0] ?? ''}`.trim();
    } catch {
      // No df, or it failed: try the next form.
    }
  }
  return 'unknown';
}
