import { expect } from 'chai';

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a HELP/TYPE comment or
 * `name{labels} value`; returns samples by "name{labels}". Throws on any other line.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const types = new Map<string, string>();
  expect(text.endsWith('\n'), 'ends with a newline').to.equal(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') {
        expect(['counter', 'gauge', 'summary', 'histogram', 'untyped'], line).to.include(m[3]);
        expect(types.has(m[2]!), `one TYPE per family: ${line}`).to.equal(false);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,(?!\}))?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const family = m[1]!.replace(/_(sum|count)$/, '');
    expect(types.has(m[1]!) || types.has(family), `sample before its TYPE: ${line}`).to.equal(true);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

