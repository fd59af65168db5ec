/** How the event stream waits between attempts to reach the daemon again. */
export interface BackoffOptions {
  /** The ceiling of the first wait; each further attempt doubles it. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** No wait is longer. Default 5,000 ms: a restarted daemon is found within 5 s of listening. */
  readonly maxDelayMs?: number;
  /** A number in [0, 1); tests pass their own. Default Math.random. */
  readonly random?: () => number;
}

export const DEFAULT_INITIAL_DELAY_MS = 100;
export const DEFAULT_MAX_DELAY_MS = 5_000;

/**
 * The wait before attempt `attempt` (0 for the first retry): "equal jitter", a uniformly random
 * point in the upper half of min(max, initial * 2^attempt). Half the ceiling is always waited, so a
 * daemon that refuses at once is not hammered; the random half spreads many clients apart.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  if (!(initial > 0) || !(max >= initial)) {
    throw new RangeError(`back-off needs 0 < initialDelayMs <= maxDelayMs, got ${initial} and ${max}`);
  }
  // 2^attempt grows past any cap quickly; bound the exponent so it never overflows to Infinity.
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 52));
  return ceiling / 2 + random() * (ceiling / 2);
}
