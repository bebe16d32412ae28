/**
 * Script check probe, Consul's semantics: run `args` directly (no shell) with stdout and
 * stderr captured together (last `outputMaxSize` bytes); exit 0 → passing, 1 → warning,
 * anything else (other codes, killed by a signal, failed to start) → critical. A run that is
 * still going at the timeout is killed with SIGKILL together with its whole process group and
 * reported critical "Timed out (<timeout>) running check".
 *
 * Every run is started in its own process group, so that a hung script's children die with it.
 * The probe resolves only after the process has exited, so runs never overlap.
 */
import { spawn } from 'node:child_process';
import { formatDuration } from '../config/duration.js';
import type { Clock } from '../runtime/clock.js';
import { ScriptChecksDisabledError } from './errors.js';
import { TailBuffer } from './output.js';
import type { Probe } from './runner.js';
import { DEFAULT_SCRIPT_TIMEOUT_MS, type ProbeResult, type ScriptCheckSpec } from './types.js';

export interface ScriptProbeOptions {
  /**
   * Must be true, i.e. the caller checked `enable_script_checks` (or, for checks from config
   * files, `enable_local_script_checks`). Otherwise {@link scriptProbe} throws.
   */
  allowScripts: boolean;
}

/**
 * Returns the probe for a script check.
 * @throws ScriptChecksDisabledError when `allowScripts` is not true.
 */
export function scriptProbe(spec: ScriptCheckSpec, clock: Clock, opts: ScriptProbeOptions): Probe {
  if (opts.allowScripts !== true) throw new ScriptChecksDisabledError(spec.checkId);
  return (signal) => runScript(spec, clock, signal);
}

function runScript(spec: ScriptCheckSpec, clock: Clock, signal: AbortSignal): Promise<ProbeResult> {
  const out = new TailBuffer(spec.outputMaxSize);
  const outputText = (): string =>
    out.truncated ? `Captured ${out.size} of ${out.totalWritten} bytes\n...\n${out.text()}` : out.text();
  const timeoutMs = spec.timeoutMs > 0 ? spec.timeoutMs : DEFAULT_SCRIPT_TIMEOUT_MS;
  return new Promise((resolve) => {
    let settled = false;
    let killedFor: 'timeout' | 'stop' | undefined;
    const child = spawn(spec.args[0] as string, spec.args.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => out.write(c));
    child.stderr.on('data', (c: Buffer) => out.write(c));

    const settle = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const killGroup = (why: 'timeout' | 'stop'): void => {
      if (killedFor || child.pid === undefined) return;
      killedFor = why;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      // A process that left the group may still hold the pipes; stop reading them.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = clock.setTimeout(() => killGroup('timeout'), timeoutMs);
    const onAbort = (): void => killGroup('stop');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();

    child.once('error', (err) => {
      // Failed to start (ENOENT, EACCES): there is no process to wait for.
      if (child.pid === undefined) settle({ status: 'critical', output: err.message });
    });
    // 'close' after a kill waits only for the exit (the pipes were destroyed).
    child.once('close', (code, sig) => {
      if (killedFor === 'timeout') {
        const text = outputText();
        settle({ status: 'critical', output: `Timed out (${formatDuration(timeoutMs)}) running check${text ? `\n\n${text}` : ''}` });
      } else if (killedFor === 'stop') {
        settle({ status: 'critical', output: 'check stopped' });
      } else if (code === 0) {
        settle({ status: 'passing', output: outputText() });
      } else if (code === 1) {
        settle({ status: 'warning', output: outputText() });
      } else {
        const text = outputText();
        settle({ status: 'critical', output: text !== '' || code !== null ? text : `killed by ${sig}` });
      }
    });
  });
}
