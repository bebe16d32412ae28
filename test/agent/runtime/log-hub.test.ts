import { expect } from 'chai';
import { Writable } from 'node:stream';
import { LogHub, parseLogLevel } from '../../../agent/runtime/log-hub.js';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

describe('runtime: LogHub (log fan-out for monitor and reload)', () => {
  it('the primary output gets lines at its level; setLevel changes it at run time, also for child loggers', () => {
    const out = sink();
    const hub = new LogHub({ level: 'info', json: true, destination: out.stream });
    const log = hub.logger().child({ component: 'x' });
    log.debug('hidden');
    log.info('shown');
    hub.setLevel('debug');
    log.debug('now shown');
    hub.setLevel('warn');
    log.info('hidden again');
    expect(out.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['shown', 'now shown']);
  });

  it('monitors get lines at their own level, as text or JSON; a slow consumer is dropped, never blocking', () => {
    const hub = new LogHub({ level: 'error', json: true, destination: sink().stream });
    const log = hub.logger().child({ component: 'raft' });
    const text: string[] = [];
    const json: string[] = [];
    let dropped = '';
    hub.subscribe({ level: 'debug', write: (l) => text.push(l) > 0, pendingBytes: () => 0, onDrop: () => {} });
    hub.subscribe({ level: 'warn', json: true, write: (l) => json.push(l) > 0, pendingBytes: () => 0, onDrop: () => {} });
    let pending = 0;
    hub.subscribe({ level: 'trace', write: () => ((pending += 100), false), pendingBytes: () => pending, maxPendingBytes: 250, onDrop: (r) => (dropped = r) });
    log.debug({ peer: 'n2' }, 'connected');
    log.warn('slow disk');
    log.info('a');
    log.info('b');
    expect(text).to.have.length(4);
    expect(text[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[DEBUG\] raft: connected peer=n2\n$/);
    expect(text[1]).to.match(/ \[WARN\]  raft: slow disk\n$/);
    expect(json).to.have.length(1);
    expect(JSON.parse(json[0]!)).to.deep.include({ msg: 'slow disk', component: 'raft', level: 40 });
    expect(dropped).to.equal('monitor: consumer too slow; dropped');
    expect(hub.monitorCount).to.equal(2);
    hub.closeAll();
    expect(hub.monitorCount).to.equal(0);
    expect(parseLogLevel('ERR')).to.equal('error');
    expect(parseLogLevel('loud')).to.equal(undefined);
  });
});
