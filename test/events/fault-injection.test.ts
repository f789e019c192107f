import { expect } from 'chai';
import type { Delay } from '../../functions/lib/events/delivery.js';
import {
  FaultInjector,
  ReorderBuffer,
  seededRandom,
} from '../../functions/lib/events/fault-injection.js';

describe('events fault injection', () => {
  it('repeats a seeded sequence', () => {
    const first = seededRandom(42);
    const again = seededRandom(42);
    const other = seededRandom(43);

    const sequence = Array.from({ length: 100 }, () => first());

    expect(Array.from({ length: 100 }, () => again())).to.deep.equal(sequence);
    expect(Array.from({ length: 100 }, () => other())).to.not.deep.equal(sequence);
    for (const value of sequence) {
      expect(value).to.be.at.least(0);
      expect(value).to.be.below(1);
    }
    expect(new Set(sequence).size).to.equal(100);
  });

  it('spreads values over [0, 1)', () => {
    const random = seededRandom(7);
    const buckets = [0, 0, 0, 0];

    for (let i = 0; i < 4000; i++) buckets[Math.floor(random() * 4)]!++;

    for (const count of buckets) expect(count).to.be.within(800, 1200);
  });

  it('never duplicates by default', () => {
    const faults = new FaultInjector();

    const copies = Array.from({ length: 50 }, () => faults.copies());

    expect(copies.every((count) => count === 1)).to.equal(true);
    expect(faults.extraDelayMs()).to.equal(0);
  });

  it('always duplicates at probability 1', () => {
    const faults = new FaultInjector({ duplicateProbability: 1 });

    const copies = Array.from({ length: 50 }, () => faults.copies());

    expect(copies.every((count) => count === 2)).to.equal(true);
  });

  it('duplicates some at probability 0.5', () => {
    const faults = new FaultInjector({ duplicateProbability: 0.5, seed: 3 });

    const doubled = Array.from({ length: 200 }, () => faults.copies()).filter((n) => n === 2);

    expect(doubled.length).to.be.within(60, 140);
  });

  it('keeps extra delays in range', () => {
    const faults = new FaultInjector({ delayMs: { min: 5, max: 9 }, seed: 11 });

    const delays = Array.from({ length: 200 }, () => faults.extraDelayMs());

    for (const delay of delays) expect(delay).to.be.within(5, 9);
    expect(new Set(delays)).to.deep.equal(new Set([5, 6, 7, 8, 9]));
  });

  it('shuffles into a permutation', () => {
    const faults = new FaultInjector({ seed: 5 });
    const items = Array.from({ length: 20 }, (_, i) => i);

    const shuffled = faults.shuffle([...items]);

    expect(shuffled).to.have.members(items);
    expect(shuffled).to.not.deep.equal(items);
  });

  it('rejects options out of range', () => {
    expect(() => new FaultInjector({ duplicateProbability: 1.5 })).to.throw(
      RangeError,
      /duplicateProbability 1.5/,
    );
    expect(() => new FaultInjector({ delayMs: { min: 10, max: 5 } })).to.throw(
      RangeError,
      /delayMs/,
    );
    expect(() => new FaultInjector({ reorderWindowMs: -1 })).to.throw(
      RangeError,
      /reorderWindowMs/,
    );
  });

  it('releases held deliveries shuffled', async () => {
    let release: () => void = () => undefined;
    const delay: Delay = () => new Promise<void>((resolve) => (release = resolve));
    const buffer = new ReorderBuffer(
      100,
      new FaultInjector({ seed: 9 }),
      delay,
      new AbortController().signal,
    );
    const order: number[] = [];

    const held = Array.from({ length: 8 }, (_, i) => buffer.hold().then(() => order.push(i)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).to.be.empty;
    release();
    await Promise.all(held);

    expect(order).to.have.members([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(order).to.not.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(order).to.deep.equal(new FaultInjector({ seed: 9 }).shuffle([0, 1, 2, 3, 4, 5, 6, 7]));
  });

  it('rejects held deliveries on abort', async () => {
    const abort = new AbortController();
    const delay: Delay = (_ms, signal) =>
      new Promise<void>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      );
    const buffer = new ReorderBuffer(100, new FaultInjector(), delay, abort.signal);

    const held = [buffer.hold(), buffer.hold()];
    abort.abort(new Error('closing'));
    const results = await Promise.allSettled(held);

    expect(results.map((result) => result.status)).to.deep.equal(['rejected', 'rejected']);
  });
});
