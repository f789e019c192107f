/**
 * Faults the embedded broker can inject so end-to-end tests prove that
 * handlers are idempotent and order-independent, as Knative requires:
 * duplicate deliveries, random extra delays, and reordering. All choices
 * come from one seeded generator, so a run with the same seed and the same
 * arrival order of events makes the same choices.
 */
import type { Delay } from './delivery.js';

export interface FaultOptions {
  /** Probability, from 0 to 1, that a delivery is sent twice. @defaultValue 0 */
  duplicateProbability?: number;
  /** Extra wait before each delivery, uniform between `min` and `max` milliseconds. */
  delayMs?: { min: number; max: number };
  /**
   * Milliseconds to hold deliveries before releasing them in a shuffled
   * order. 0 turns reordering off. @defaultValue 0
   */
  reorderWindowMs?: number;
  /** Seed of the random choices. @defaultValue 1 */
  seed?: number;
}

/**
 * Returns a seeded xorshift32 generator of numbers in [0, 1). It is good
 * enough to pick faults but not for anything that needs unpredictability.
 */
export function seededRandom(seed: number): () => number {
  // The state must never be 0, and mixing spreads small seeds apart.
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0 || 0x9e3779b9;
  return () => {
    state = (state ^ (state << 13)) >>> 0;
    state = (state ^ (state >>> 17)) >>> 0;
    state = (state ^ (state << 5)) >>> 0;
    return state / 0x1_0000_0000;
  };
}

/** Makes the fault choices of one broker. */
export class FaultInjector {
  readonly duplicateProbability: number;
  readonly delayRange: { min: number; max: number } | undefined;
  readonly reorderWindowMs: number;
  private readonly random: () => number;

  /** @throws RangeError when an option is out of range. */
  constructor(options: FaultOptions = {}) {
    this.duplicateProbability = options.duplicateProbability ?? 0;
    this.delayRange = options.delayMs;
    this.reorderWindowMs = options.reorderWindowMs ?? 0;
    this.random = seededRandom(options.seed ?? 1);
    checkRanges(this);
  }

  /** Returns how many times to send one delivery: 1, or 2 when it is duplicated. */
  copies(): number {
    if (this.duplicateProbability <= 0) return 1;
    return this.random() < this.duplicateProbability ? 2 : 1;
  }

  /** Returns the extra wait before one delivery, in milliseconds. */
  extraDelayMs(): number {
    if (!this.delayRange) return 0;
    const { min, max } = this.delayRange;
    return min + Math.floor(this.random() * (max - min + 1));
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns them. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

function checkRanges(faults: FaultInjector): void {
  const problems: string[] = [];
  const p = faults.duplicateProbability;
  if (!(p >= 0 && p <= 1)) problems.push(`duplicateProbability ${p} must be between 0 and 1`);
  const range = faults.delayRange;
  if (range && !(range.min >= 0 && range.max >= range.min)) {
    problems.push(`delayMs {min: ${range.min}, max: ${range.max}} must have 0 <= min <= max`);
  }
  if (!(faults.reorderWindowMs >= 0)) {
    problems.push(`reorderWindowMs ${faults.reorderWindowMs} must be 0 or more`);
  }
  if (problems.length > 0) throw new RangeError(`invalid fault options: ${problems.join('; ')}`);
}

/**
 * Holds deliveries for one window, then releases them in a shuffled order.
 * The window starts with the first delivery held after a release.
 */
export class ReorderBuffer {
  private waiting: Array<{ resolve: () => void; reject: (reason: unknown) => void }> = [];

  constructor(
    private readonly windowMs: number,
    private readonly faults: FaultInjector,
    private readonly delay: Delay,
    private readonly signal: AbortSignal,
  ) {}

  /** Resolves when this delivery's turn comes, and rejects when the signal aborts. */
  hold(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.waiting.length === 1) this.scheduleRelease();
    });
  }

  private scheduleRelease(): void {
    this.delay(this.windowMs, this.signal).then(
      () => {
        for (const delivery of this.faults.shuffle(this.takeWaiting())) delivery.resolve();
      },
      (reason: unknown) => {
        for (const delivery of this.takeWaiting()) delivery.reject(reason);
      },
    );
  }

  private takeWaiting() {
    const batch = this.waiting;
    this.waiting = [];
    return batch;
  }
}
