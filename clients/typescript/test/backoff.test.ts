import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { backoffDelayMs, connect } from '../src/index.js';

describe('backoffDelayMs', () => {
  const lowest = { initialDelayMs: 100, maxDelayMs: 1_000, random: () => 0 };
  const highest = { ...lowest, random: () => 0.999_999 };

  it('doubles its ceiling per attempt up to the cap, and waits at least half of it', () => {
    const ceilings = [100, 200, 400, 800, 1_000, 1_000];
    ceilings.forEach((ceiling, attempt) => {
      assert.equal(backoffDelayMs(attempt, lowest), ceiling / 2);
      assert.ok(Math.abs(backoffDelayMs(attempt, highest) - ceiling) < 0.01);
    });
  });

  it('stays within the cap however many attempts failed', () => {
    for (const attempt of [60, 1_100, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelayMs(attempt, highest);
      assert.ok(delay >= 500 && delay <= 1_000, `${attempt}: ${delay}`);
    }
  });

  it('defaults to 100 ms growing to 5 s', () => {
    assert.equal(backoffDelayMs(0, { random: () => 0 }), 50);
    assert.equal(backoffDelayMs(100, { random: () => 0 }), 2_500);
  });

  it('refuses settings that would not back off, already when connecting', async () => {
    assert.throws(() => backoffDelayMs(0, { initialDelayMs: 0 }), RangeError);
    assert.throws(() => backoffDelayMs(0, { initialDelayMs: 200, maxDelayMs: 100 }), RangeError);
    await assert.rejects(connect('/nonexistent.sock', { reconnect: { initialDelayMs: -1 } }), RangeError);
  });
});
