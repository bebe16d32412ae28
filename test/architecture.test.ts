import { expect } from 'chai';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** Every .ts file under `dir` (relative to the repo root), recursively. */
function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return dir.endsWith('.ts') ? [dir] : [];
  return readdirSync(dir).flatMap((n) => tsFiles(join(dir, n)));
}

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] as string,
  );
}

/** DESIGN.md's dependency rule, checked on the source tree. */
describe('architecture: dependency rule', () => {
  it('catalog/ and dns/ never import from agent/', () => {
    const offenders = [...tsFiles('catalog'), ...tsFiles('dns')].filter((f) => importsOf(f).some((i) => /(^|\/)agent\//.test(i)));
    expect(offenders, `these files import from agent/: ${offenders.join(', ')}`).to.deep.equal([]);
  });

  it('pure cores import no I/O modules and read no wall clock or timers', () => {
    const pure = [...tsFiles('catalog/raft/core'), ...tsFiles('agent/swim/core'), ...tsFiles('dns/resolver.ts')];
    const io = /^(node:)?(net|dgram|fs|fs\/promises|child_process|http|https|tls|worker_threads|cluster)$/;
    const problems: string[] = [];
    for (const f of pure) {
      for (const i of importsOf(f)) if (io.test(i)) problems.push(`${f} imports ${i}`);
      const src = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const bad of ['Date.now(', 'new Date(', 'setTimeout(', 'setInterval(', 'setImmediate(', 'performance.now(', 'Math.random(', 'process.']) {
        if (src.includes(bad)) problems.push(`${f} uses ${bad}`);
      }
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
