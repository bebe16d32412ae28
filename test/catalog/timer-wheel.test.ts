import { expect } from 'chai';
import { TimerWheel } from '../../catalog/timer-wheel.js';
import { ManualClock } from '../../agent/runtime/clock.js';
import { SeededRng } from '../../agent/runtime/rng.js';

function setup(resolutionMs = 10) {
  const clock = new ManualClock(0);
  const wheel = new TimerWheel({ base: clock, now: () => clock.monotonic(), resolutionMs });
  return { clock, wheel };
}

describe('catalog/timer-wheel: TimerWheel', () => {
  it('fires no earlier than asked and at most one slot later, slots in time order, one slot in set order', () => {
    const { clock, wheel } = setup(10);
    const fired: Array<[string, number]> = [];
    const at = (name: string) => () => void fired.push([name, clock.monotonic()]);
    wheel.setTimeout(at('b25'), 25);
    wheel.setTimeout(at('a21'), 21);
    wheel.setTimeout(at('c30'), 30);
    wheel.setTimeout(at('d5'), 5);
    clock.advance(9);
    expect(fired).to.deep.equal([]);
    clock.advance(100);
    expect(fired).to.deep.equal([
      ['d5', 10],
      ['b25', 30],
      ['a21', 30],
      ['c30', 30],
    ]);
    expect(wheel.size).to.equal(0);
  });

  it('keeps one base timer armed however many timers are pending, and none when all are cleared', () => {
    const { clock, wheel } = setup(10);
    const handles = Array.from({ length: 1000 }, (_, i) => wheel.setTimeout(() => undefined, 60_000 + i * 7));
    expect(wheel.size).to.equal(1000);
    expect(clock.pending()).to.equal(1);
    for (const h of handles) wheel.clearTimeout(h);
    wheel.clearTimeout(handles[0]);
    wheel.clearTimeout({ id: 1 });
    expect(wheel.size).to.equal(0);
    expect(clock.pending(), 'an idle wheel arms nothing').to.equal(0);
  });

  it('a cleared timer never fires; clearing the earliest re-arms for the next', () => {
    const { clock, wheel } = setup(10);
    const fired: string[] = [];
    const first = wheel.setTimeout(() => fired.push('first'), 10);
    wheel.setTimeout(() => fired.push('second'), 50);
    wheel.clearTimeout(first);
    clock.advance(49);
    expect(fired).to.deep.equal([]);
    clock.advance(1);
    expect(fired).to.deep.equal(['second']);
    expect(clock.pending()).to.equal(0);
  });

  it('a timer is never due before the next slot boundary, so a callback re-arming with 0 ms fires once per slot', () => {
    const { clock, wheel } = setup(10);
    let sweeps = 0;
    const rearm = (): void => {
      sweeps++;
      if (sweeps < 5) wheel.setTimeout(rearm, 0);
    };
    wheel.setTimeout(rearm, 0);
    clock.advance(9);
    expect(sweeps).to.equal(0);
    clock.advance(1);
    expect(sweeps).to.equal(1);
    clock.advance(10);
    expect(sweeps).to.equal(2);
    clock.advance(1000);
    expect(sweeps).to.equal(5);
    expect(wheel.size).to.equal(0);
  });

  it('a throwing callback does not stop the others; the first error is rethrown after re-arming', () => {
    const { clock, wheel } = setup(10);
    const fired: string[] = [];
    wheel.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    wheel.setTimeout(() => fired.push('same slot'), 10);
    wheel.setTimeout(() => fired.push('later'), 40);
    expect(() => clock.advance(10)).to.throw('boom');
    expect(fired).to.deep.equal(['same slot']);
    clock.advance(30);
    expect(fired).to.deep.equal(['same slot', 'later']);
  });

  it('seeded random timers and cancels: each surviving timer fires once within [deadline, deadline + resolution]', () => {
    for (const seed of [1, 2, 3, 42]) {
      const rng = new SeededRng(seed);
      const res = 1 + rng.int(50);
      const { clock, wheel } = setup(res);
      const live = new Map<number, { handle: unknown; deadline: number }>();
      const firedAt = new Map<number, number>();
      let id = 0;
      for (let step = 0; step < 2000; step++) {
        const r = rng.next();
        if (r < 0.5) {
          const me = id++;
          const ms = rng.int(5000);
          const deadline = clock.monotonic() + ms;
          live.set(me, {
            deadline,
            handle: wheel.setTimeout(() => {
              if (firedAt.has(me)) expect.fail(`seed ${seed}: timer ${me} fired twice`);
              firedAt.set(me, clock.monotonic());
            }, ms),
          });
        } else if (r < 0.7 && live.size > 0) {
          const keys = [...live.keys()];
          const k = keys[rng.int(keys.length)]!;
          wheel.clearTimeout(live.get(k)!.handle);
          if (!firedAt.has(k)) live.delete(k);
        } else {
          clock.advance(rng.int(200));
        }
        if (clock.pending() > 1) expect.fail(`seed ${seed}: ${clock.pending()} base timers armed at step ${step}`);
      }
      clock.advance(10_000);
      expect(wheel.size, `seed ${seed}`).to.equal(0);
      for (const [k, { deadline }] of live) {
        const at = firedAt.get(k);
        expect(at, `seed ${seed}: timer ${k} never fired`).to.not.equal(undefined);
        expect(at!, `seed ${seed}: timer ${k} fired early`).to.be.at.least(deadline);
        expect(at!, `seed ${seed}: timer ${k} fired late`).to.be.at.most(deadline + res);
      }
      expect(firedAt.size, `seed ${seed}: a cancelled timer fired`).to.equal(live.size);
    }
  });
});
