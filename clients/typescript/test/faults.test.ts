// What the client does when the daemon answers with each error, breaks the protocol, stalls or
// goes away. Always against the fake, which is told to misbehave; the real daemon does not on purpose.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import {
  ConflictError,
  connect,
  EgressdConnectionError,
  EgressdError,
  EgressdProtocolError,
  EgressdTimeoutError,
  EnforcementFailedError,
  InternalError,
  InvalidPolicyError,
  InvalidRequestError,
  NotAttachedError,
  PermissionDeniedError,
  UnknownCommandError,
  UnsupportedPolicyError,
  type EgressdClient,
  type ErrorCode,
} from '../src/index.js';
import { FakeEgressd } from './fake-egressd.js';
import { disconnected, readUntil, subscribed } from './streams.js';

const CONTAINER = { id: 'c1', addresses: ['10.213.0.5'] };
const POLICY = { text: 'allow 192.0.2.10 port 443\ndns none\n' };

let directory: string;
let fake: FakeEgressd;
let client: EgressdClient;

before(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'egressd-faults-'));
});

after(() => rm(directory, { recursive: true, force: true }));

beforeEach(async () => {
  fake = await FakeEgressd.start(path.join(directory, 'egressd.sock'));
  client = await connect(fake.socketPath, { requestTimeoutMs: 2_000, reconnect: { initialDelayMs: 20, maxDelayMs: 80 } });
});

afterEach(async () => {
  await client.close();
  await fake.stop();
});

/** Makes the fake answer every `command` request with `error`. */
function answerWithError(command: string, error: Record<string, unknown>): void {
  fake.intercept = (request, socket) => {
    if (request.command !== command) return false;
    socket.write(JSON.stringify({ id: request.id, ok: false, error }) + '\n');
    return true;
  };
}

describe('each error code becomes its typed error, with its details', () => {
  const cases: { code: ErrorCode; details: Record<string, unknown>; check: (error: unknown) => boolean }[] = [
    {
      code: 'invalid-request',
      details: { field: 'container.addresses' },
      check: (e) => e instanceof InvalidRequestError && e.field === 'container.addresses',
    },
    {
      code: 'unknown-command',
      details: { command: 'attach' },
      check: (e) => e instanceof UnknownCommandError && e.command === 'attach',
    },
    {
      code: 'invalid-policy',
      details: { problems: [{ line: 2, column: 7, message: "expected 'port'" }], source: 'agent' },
      check: (e) =>
        e instanceof InvalidPolicyError &&
        e.source === 'agent' &&
        e.problems.length === 1 &&
        e.problems[0]?.line === 2 &&
        e.problems[0].column === 7,
    },
    {
      code: 'unsupported-policy',
      details: { hint: 'name each host' },
      check: (e) => e instanceof UnsupportedPolicyError && e.hint === 'name each host',
    },
    { code: 'conflict', details: {}, check: (e) => e instanceof ConflictError },
    {
      code: 'not-attached',
      details: { containerId: 'c1' },
      check: (e) => e instanceof NotAttachedError && e.containerId === 'c1',
    },
    {
      code: 'enforcement-failed',
      details: { hint: 'is nft installed?' },
      check: (e) => e instanceof EnforcementFailedError && e.hint === 'is nft installed?',
    },
    { code: 'permission-denied', details: {}, check: (e) => e instanceof PermissionDeniedError },
    { code: 'internal', details: {}, check: (e) => e instanceof InternalError },
  ];
  for (const { code, details, check } of cases) {
    it(code, async () => {
      answerWithError('attach', { code, message: `said ${code}`, ...details });
      await assert.rejects(client.attach({ container: CONTAINER, policy: POLICY }), (error) => {
        assert.ok(error instanceof EgressdError);
        assert.equal(error.code, code);
        assert.equal(error.message, `said ${code}`);
        assert.deepEqual(error.details, details);
        return check(error);
      });
      // An error answer is one request's failure: the connection goes on.
      assert.equal((await client.version()).protocol, 1);
      assert.equal(fake.connectionsAccepted, 1);
    });
  }

  it('an unknown code is a protocol error, not a guess', async () => {
    answerWithError('attach', { code: 'maybe-later', message: 'new in protocol 2' });
    await assert.rejects(client.attach({ container: CONTAINER, policy: POLICY }), EgressdProtocolError);
  });

  it('an invalid-policy error without well-formed problems is a protocol error', async () => {
    answerWithError('attach', { code: 'invalid-policy', message: 'no', problems: [{ line: 'one' }] });
    await assert.rejects(client.attach({ container: CONTAINER, policy: POLICY }), EgressdProtocolError);
  });
});

describe('the connection', () => {
  it('carries pipelined requests on one connection', async () => {
    const versions = await Promise.all(Array.from({ length: 50 }, () => client.version()));
    assert.equal(versions.length, 50);
    assert.equal(fake.connectionsAccepted, 1);
  });

  it('reads an answer written in two parts', async () => {
    fake.intercept = (request, socket) => {
      const line = JSON.stringify({ id: request.id, ok: true, data: { protocol: 1, egressd: 'x', backend: 'pf' } }) + '\n';
      socket.write(line.slice(0, 10));
      setTimeout(() => socket.write(line.slice(10)), 50);
      return true;
    };
    assert.deepEqual(await client.version(), { protocol: 1, egressd: 'x', backend: 'pf' });
  });

  it('rejects every pending request when the daemon closes mid-request, then opens a new connection', async () => {
    fake.intercept = (request, socket) => request.command === 'detach' && (socket.destroy(), true);
    const pending = [
      client.attach({ container: CONTAINER, policy: POLICY }),
      client.detach({ containerId: 'c1' }),
      client.status(),
    ];
    const [attach, detach, status] = await Promise.allSettled(pending);
    assert.equal(attach?.status, 'fulfilled');
    for (const lost of [detach, status]) {
      assert.equal(lost?.status, 'rejected');
      assert.ok(lost?.status === 'rejected' && lost.reason instanceof EgressdConnectionError, String(lost));
    }
    fake.intercept = undefined;
    assert.equal((await client.version()).protocol, 1);
    assert.equal(fake.connectionsAccepted, 2);
  });

  it('says when the daemon closed in the middle of an answer', async () => {
    fake.intercept = (request, socket) => (socket.end(`{"id": ${request.id}, "ok": tr`), true);
    await assert.rejects(client.version(), /in the middle of an answer/);
  });

  it('drops the connection on a line longer than the limit, without waiting for its end', async () => {
    const small = await connect(fake.socketPath, { maxLineBytes: 1024 });
    try {
      fake.intercept = (_, socket) => (socket.write('{"id": 1, "ok": true, "data": {"x": "' + 'a'.repeat(4096)), true);
      await assert.rejects(small.version(), (error) => error instanceof EgressdProtocolError && /longer than 1024/.test(error.message));
    } finally {
      await small.close();
    }
  });

  it('drops the connection on a line that is not UTF-8', async () => {
    fake.intercept = (_, socket) => (socket.write(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])), true);
    await assert.rejects(client.version(), /not valid UTF-8/);
  });

  it('drops the connection on an answer to another request', async () => {
    fake.intercept = (request, socket) => {
      socket.write(JSON.stringify({ id: Number(request.id) + 1, ok: true, data: {} }) + '\n');
      return true;
    };
    await assert.rejects(client.version(), (error) => error instanceof EgressdProtocolError && /answered request 2 where 1/.test(error.message));
  });

  it('drops the connection with a request not answered in time and those behind it, and goes on on a new one', async () => {
    const slow = await connect(fake.socketPath, { requestTimeoutMs: 100 });
    try {
      fake.intercept = () => true; // answers nothing
      const late = slow.status();
      const behind = slow.version();
      await assert.rejects(late, (error) => error instanceof EgressdTimeoutError && /status within 100 ms/.test(error.message));
      await assert.rejects(behind, EgressdTimeoutError);
      fake.intercept = undefined;
      assert.equal((await slow.version()).protocol, 1);
      assert.equal(fake.connectionsAccepted, 3); // the shared client's, then slow's first and second
    } finally {
      await slow.close();
    }
  });

  it('rejects every request with PermissionDeniedError when the daemon refuses this peer', async () => {
    fake.refuseConnections = true;
    const refused = await connect(fake.socketPath);
    try {
      const results = await Promise.allSettled([refused.version(), refused.status()]);
      for (const result of results) {
        assert.ok(result.status === 'rejected' && result.reason instanceof PermissionDeniedError, String(result));
      }
    } finally {
      await refused.close();
    }
  });

  it('cannot connect where no daemon listens', async () => {
    await assert.rejects(connect(path.join(directory, 'nothing.sock')), EgressdConnectionError);
  });

  it('close rejects pending requests and refuses new ones', async () => {
    fake.intercept = () => true; // never answers
    const pending = client.status();
    await client.close();
    await assert.rejects(pending, /closed/);
    await assert.rejects(client.version(), /closed/);
  });
});

// Each stream here ends when afterEach closes its client, even with a read pending.
describe('the event stream', () => {
  it('skips event types it does not know and delivers the rest', async () => {
    const stream = client.subscribe();
    await readUntil(stream, subscribed(false));
    fake.publish({ type: 'from-a-later-version', time: '2026-11-29T14:02:11.123Z', name: 'example.com' });
    fake.publish({ type: 'detached', time: '2026-11-29T14:02:11.124Z', containerId: 'c9' });
    const next = await stream.next();
    assert.deepEqual(next.value, {
      kind: 'event',
      event: { type: 'detached', time: '2026-11-29T14:02:11.124Z', containerId: 'c9' },
    });
  });

  it('delivers the audit trail\'s denied events, with and without a container', async () => {
    const stream = client.subscribe();
    await readUntil(stream, subscribed(false));
    const ofContainer = {
      type: 'denied',
      time: '2026-11-30T00:07:15.021Z',
      containerId: 'c1',
      ruleSet: 'c_c1_d0f631ca1ddb',
      source: '10.213.0.5',
      destination: '203.0.113.9',
      port: 443,
      protocol: 'tcp',
      reason: 'not-in-policy',
    } as const;
    const forged = {
      type: 'denied',
      time: '2026-11-30T00:07:15.022Z',
      source: '10.66.0.9',
      destination: '203.0.113.9',
      protocol: 'icmp',
      reason: 'spoofed-source',
    } as const;
    fake.publish(ofContainer);
    fake.publish(forged);
    const first = await stream.next();
    assert.deepEqual(first.value, { kind: 'event', event: ofContainer });
    const second = await stream.next();
    assert.deepEqual(second.value, { kind: 'event', event: forged });
    const event = second.value?.kind === 'event' ? second.value.event : undefined;
    assert.equal(event?.type === 'denied' ? event.containerId : 'not denied', undefined);
  });

  it('after an overflow, reports the break and subscribes again', async () => {
    const stream = client.subscribe();
    await readUntil(stream, subscribed(false));
    fake.intercept = undefined;
    fake.publish({ type: 'overflow', time: '2026-11-29T14:02:11.123Z', dropped: 1000 });
    const overflow = await stream.next();
    assert.deepEqual(overflow.value, {
      kind: 'event',
      event: { type: 'overflow', time: '2026-11-29T14:02:11.123Z', dropped: 1000 },
    });
    // The daemon closes a subscriber that overflowed.
    await fake.stop();
    await fake.listen();
    const { skipped } = await readUntil(stream, subscribed(true));
    assert.ok(skipped.length >= 1 && skipped.every((item) => item.kind === 'disconnected'), JSON.stringify(skipped));
  });

  it('waits longer after each failed attempt, within the back-off bounds, and resets once subscribed', async () => {
    await fake.stop();
    const stream = client.subscribe(); // initialDelayMs 20, maxDelayMs 80
    const waits: number[] = [];
    let previous = Date.now();
    for (let attempt = 0; attempt < 5; attempt++) {
      const { item } = await readUntil(stream, disconnected);
      const now = Date.now();
      if (attempt > 0) assert.ok(now - previous >= waits[attempt - 1]! - 2, `waited ${now - previous} ms, not ${waits[attempt - 1]}`);
      previous = now;
      waits.push(item.retryInMs);
    }
    const ceilings = [20, 40, 80, 80, 80];
    waits.forEach((wait, attempt) => {
      assert.ok(wait >= ceilings[attempt]! / 2 && wait <= ceilings[attempt]!, `attempt ${attempt} waited ${wait} ms`);
    });
    await fake.listen();
    await readUntil(stream, subscribed(false));
    await fake.stop();
    const { item } = await readUntil(stream, disconnected);
    assert.ok(item.retryInMs <= 20, `after a success the wait starts again from 20 ms, got ${item.retryInMs}`);
  });

  it('ends with the error when the daemon refuses the subscription', async () => {
    fake.refuseConnections = true;
    const stream = client.subscribe();
    await assert.rejects(stream.next(), PermissionDeniedError);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
  });

  it('ends when the client is closed, also while waiting to retry', async () => {
    await fake.stop();
    const stream = client.subscribe();
    await readUntil(stream, disconnected);
    const next = stream.next();
    await client.close();
    assert.deepEqual(await next, { done: true, value: undefined });
  });
});
