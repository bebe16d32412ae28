/**
 * The fault suite's entry point:
 *
 *   node dist/test/faults/run.js --seed N --time 120 [--scenario name[,name…]] [--workers 4] [--keep]
 *
 * Runs each scenario (default: all) with the seed, prints its timeline and a summary, and
 * exits 1 if any checker found an anomaly, 2 when the machine cannot host the harness.
 */
import { scenarios, scenario } from './harness/scenarios.js';
import { formatReport, runScenario } from './harness/runner.js';
import { cleanupLeftovers, unsupportedReason } from './harness/netns.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const why = unsupportedReason();
if (why) {
  console.error(`faults: skipped: ${why}`);
  process.exit(2);
}
const seed = Number(arg('seed') ?? Math.floor(Math.random() * 2 ** 31));
const timeSec = Number(arg('time') ?? 60);
const workers = Number(arg('workers') ?? 4);
if (!Number.isInteger(seed) || !(timeSec > 0) || !(workers > 0)) {
  console.error('usage: node dist/test/faults/run.js --seed N --time SECONDS [--scenario a,b] [--workers N] [--keep]');
  process.exit(2);
}
const list = arg('scenario') ? (arg('scenario') as string).split(',').map(scenario) : scenarios;
const onSignal = (): void => {
  cleanupLeftovers();
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let failed = 0;
for (const sc of list) {
  console.log(`faults: ${sc.name} seed=${seed} time=${timeSec}s: ${sc.summary}`);
  const r = await runScenario(sc, { seed, timeSec, workers, keep: process.argv.includes('--keep') });
  console.log(formatReport(r));
  if (!r.ok) failed++;
}
console.log(`faults: ${list.length - failed} passed, ${failed} failed (seed ${seed})`);
process.exit(failed ? 1 : 0);
