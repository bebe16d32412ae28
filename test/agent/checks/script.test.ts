import { expect } from 'chai';
import { readFileSync, existsSync } from 'node:fs';
import { scriptProbe } from '../../../agent/checks/script.js';
import { ScriptChecksDisabledError } from '../../../agent/checks/errors.js';
import { IntervalRunner } from '../../../agent/checks/runner.js';
import type { ScriptCheckSpec } from '../../../agent/checks/types.js';
import { ManualClock, SystemClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { tempDir } from '../../lib/tmp.js';
import { base, recorder, waitFor } from './helpers.js';

function spec(args: string[], over: Partial<ScriptCheckSpec> = {}): ScriptCheckSpec {
  return { ...base('script', { timeoutMs: 5000 }), kind: 'script', args, intervalMs: 10_000, ...over };
}

const clock = new SystemClock();
const run = (s: ScriptCheckSpec): ReturnType<ReturnType<typeof scriptProbe>> => scriptProbe(s, clock, { allowScripts: true })(new AbortController().signal);

/** True while `pid` is a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    const state = readFileSync(stat, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('checks: script probe (real processes)', function () {
  this.timeout(15_000);

  it('exit 0 is passing with the output', async () => {
    expect(await run(spec(['sh', '-c', 'echo hello; echo to-stderr >&2; exit 0']))).to.deep.equal({ status: 'passing', output: 'hello\nto-stderr\n' });
  });

  it('exit 1 is warning, exit 2 is critical', async () => {
    expect(await run(spec(['sh', '-c', 'echo degraded; exit 1']))).to.deep.equal({ status: 'warning', output: 'degraded\n' });
    expect(await run(spec(['sh', '-c', 'echo broken >&2; exit 2']))).to.deep.equal({ status: 'critical', output: 'broken\n' });
    expect((await run(spec(['sh', '-c', 'exit 127']))).status).to.equal('critical');
  });

  it('runs Args directly, without a shell', async () => {
    expect(await run(spec(['/bin/echo', '$HOME;', '*', '`id`']))).to.deep.equal({ status: 'passing', output: '$HOME; * `id`\n' });
  });

  it('a script that writes a file and reports through its output', async () => {
    const t = tempDir();
    try {
      const script = t.file('check.sh', '#!/bin/sh\necho "disk ok: $1" | tee "$2"\nexit 0\n');
      const r = await run(spec(['sh', script, '42%', `${t.dir}/out.txt`]));
      expect(r).to.deep.equal({ status: 'passing', output: 'disk ok: 42%\n' });
      expect(readFileSync(`${t.dir}/out.txt`, 'utf8')).to.equal('disk ok: 42%\n');
    } finally {
      t.cleanup();
    }
  });

  it('keeps the last OutputMaxSize bytes and says how much was captured', async () => {
    const r = await run(spec(['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done'], { outputMaxSize: 100 }));
    expect(r.status).to.equal('passing');
    const total = Array.from({ length: 300 }, (_v, i) => `line ${i}\n`).join('');
    expect(r.output).to.equal(`Captured 100 of ${total.length} bytes\n...\n${total.slice(-100)}`);
  });

  it('a program that cannot start is critical with the error', async () => {
    const r = await run(spec(['/nonexistent/check-prog']));
    expect(r).to.deep.equal({ status: 'critical', output: 'spawn /nonexistent/check-prog ENOENT' });
  });

  it('a script that hangs is killed at the timeout, with its whole process group', async () => {
    const t = tempDir();
    try {
      const r = await run(
        spec(['sh', '-c', `echo $$ > ${t.dir}/sh.pid; sleep 30 & echo $! > ${t.dir}/child.pid; echo started; wait`], { timeoutMs: 300 }),
      );
      expect(r).to.deep.equal({ status: 'critical', output: 'Timed out (300ms) running check\n\nstarted\n' });
      const pids = ['sh.pid', 'child.pid'].map((f) => Number(readFileSync(`${t.dir}/${f}`, 'utf8').trim()));
      expect(pids.every((p) => p > 0)).to.equal(true);
      // The kill is SIGKILL to the group; give the kernel a moment to finish the reaping.
      await waitFor(() => pids.every((p) => !alive(p)), 3000, `processes ${pids.join(', ')} to be gone`);
    } finally {
      t.cleanup();
    }
  });

  it('a spec without a timeout uses 30 s, not 0', async () => {
    const manual = new ManualClock(0);
    const pending = scriptProbe(spec(['sh', '-c', 'echo fine'], { timeoutMs: 0 }), manual, { allowScripts: true })(new AbortController().signal);
    manual.advance(29_999);
    expect(await pending).to.deep.equal({ status: 'passing', output: 'fine\n' });
  });

  it('refuses to create a script probe unless script checks are enabled', () => {
    expect(() => scriptProbe(spec(['true']), clock, { allowScripts: false })).to.throw(ScriptChecksDisabledError, /^checks: script checks are disabled; refusing to run check "script"/);
  });
});

describe('checks: script check under the IntervalRunner', function () {
  this.timeout(15_000);

  it('reports each run, and stop() kills a running script before resolving', async () => {
    const t = tempDir();
    try {
      const manual = new ManualClock(0);
      const rec = recorder();
      const s = spec(['sh', '-c', `if [ -f ${t.dir}/hang ]; then echo $$ > ${t.dir}/pid; exec sleep 30; fi; echo ok`], { intervalMs: 1000 });
      const r = new IntervalRunner({ ...s, probe: scriptProbe(s, manual, { allowScripts: true }), report: rec.report, clock: manual, rng: new SeededRng(5) });
      r.start();
      manual.advance(1000);
      await waitFor(() => rec.reports.length === 1, 5000, 'first report');
      expect(rec.reports[0]).to.deep.equal(['passing', 'ok\n']);
      t.file('hang', '');
      manual.advance(1000);
      await waitFor(() => existsSync(`${t.dir}/pid`) && readFileSync(`${t.dir}/pid`, 'utf8').trim() !== '', 5000, 'script to start hanging');
      const pid = Number(readFileSync(`${t.dir}/pid`, 'utf8').trim());
      await r.stop();
      expect(rec.reports).to.have.length(1);
      await waitFor(() => !alive(pid), 3000, `pid ${pid} to be gone`);
    } finally {
      t.cleanup();
    }
  });
});
