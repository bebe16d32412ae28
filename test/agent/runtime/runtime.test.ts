import { expect } from 'chai';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';

describe('runtime', () => {
  describe('ManualClock', () => {
    it('fires timers in due order and only when advanced past them', () => {
      const clock = new ManualClock(0);
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('b'), 20);
      clock.setTimeout(() => fired.push('a'), 10);
      clock.setTimeout(() => fired.push('a2'), 10);
      clock.advance(9);
      expect(fired).to.deep.equal([]);
      clock.advance(11);
      expect(fired).to.deep.equal(['a', 'a2', 'b']);
      expect(clock.now()).to.equal(20);
    });

    it('repeats intervals and cancels cleared timers', () => {
      const clock = new ManualClock(0);
      let n = 0;
      const h = clock.setInterval(() => n++, 10);
      const t = clock.setTimeout(() => n += 100, 5);
      clock.clearTimeout(t);
      clock.advance(35);
      expect(n).to.equal(3);
      clock.clearInterval(h);
      clock.advance(100);
      expect(n).to.equal(3);
      expect(clock.pending()).to.equal(0);
    });

    it('lets a timer schedule another that falls within the same advance', () => {
      const clock = new ManualClock(0);
      const at: number[] = [];
      clock.setTimeout(() => {
        at.push(clock.now());
        clock.setTimeout(() => at.push(clock.now()), 5);
      }, 5);
      clock.advance(10);
      expect(at).to.deep.equal([5, 10]);
    });
  });

  describe('SeededRng', () => {
    it('replays the same sequence from the same seed', () => {
      const a = new SeededRng(42);
      const b = new SeededRng(42);
      const xs = Array.from({ length: 50 }, () => a.next());
      const ys = Array.from({ length: 50 }, () => b.next());
      expect(xs).to.deep.equal(ys);
      expect(new SeededRng(43).next()).to.not.equal(xs[0]);
    });

    it('keeps int() in range and roughly uniform', () => {
      const r = new SeededRng(7);
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < 40_000; i++) counts[r.int(4)]!++;
      for (const c of counts) expect(c).to.be.within(9_000, 11_000);
      expect(() => r.int(0)).to.throw(RangeError);
    });

    it('shuffles into a permutation', () => {
      const r = new SeededRng(1);
      const arr = Array.from({ length: 100 }, (_, i) => i);
      const s = r.shuffle([...arr]);
      expect([...s].sort((x, y) => x - y)).to.deep.equal(arr);
      expect(s).to.not.deep.equal(arr);
    });
  });
});

describe('logger', () => {
  it('writes human lines to a TTY and JSON otherwise, with the component', async () => {
    const { Writable } = await import('node:stream');
    const { createLogger } = await import('../../../agent/runtime/logger.js');
    const sink = (tty: boolean): { s: NodeJS.WritableStream & { isTTY?: boolean }; text: () => string } => {
      let text = '';
      const s = Object.assign(
        new Writable({
          write(c, _e, cb) {
            text += String(c);
            cb();
          },
        }),
        { isTTY: tty },
      );
      return { s, text: () => text };
    };
    const json = sink(false);
    createLogger({ destination: json.s }).child({ component: 'raft' }).info('elected');
    const line = JSON.parse(json.text().trim()) as Record<string, unknown>;
    expect(line).to.include({ component: 'raft', msg: 'elected', level: 30 });
    const human = sink(true);
    createLogger({ destination: human.s }).child({ component: 'raft' }).info('elected');
    expect(human.text()).to.match(/INFO.*\[raft\] elected/);
    const quiet = sink(false);
    createLogger({ destination: quiet.s, level: 'warn' }).info('hidden');
    expect(quiet.text()).to.equal('');
  });
});
