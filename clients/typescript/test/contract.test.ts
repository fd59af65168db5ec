// The protocol contract as a client sees it. Runs against the fake egressd, or against the real
// daemon when EGRESSD_SOCKET is set: nothing here depends on the fake's internals.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  ConflictError,
  connect,
  EgressdConnectionError,
  InvalidPolicyError,
  InvalidRequestError,
  NotAttachedError,
  UnsupportedPolicyError,
  type Container,
  type EgressdClient,
  type StreamItem,
} from '../src/index.js';
import { startDaemon, testAddress, type Daemon } from './daemon.js';
import { disconnected, eventFor, readUntil, subscribed } from './streams.js';

const POLICY = 'allow 192.0.2.10 port 443\ndns none\n';
const OTHER_POLICY = 'allow 192.0.2.20 port 8443\ndns none\n';

function container(id: string, host: number): Container {
  return { id, addresses: [testAddress(host)], gateway: testAddress(1) };
}

const daemon: Daemon = await startDaemon();

describe(`egressd contract against ${daemon.description}`, () => {
  let client: EgressdClient;

  before(async () => {
    client = await connect(daemon.socketPath, { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  });

  after(async () => {
    await client.close();
    await daemon.stop();
  });

  // Each test starts from no attachments: never point this suite at a daemon guarding real containers.
  beforeEach(() => client.reconcile({ liveContainerIds: [] }));

  /** Runs `use` with an event stream of its own client, closed afterwards even if a read is pending. */
  async function withStream(use: (stream: AsyncGenerator<StreamItem, void>) => Promise<void>): Promise<void> {
    const listener = await connect(daemon.socketPath, { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
    try {
      await use(listener.subscribe());
    } finally {
      await listener.close();
    }
  }

  it('version reports protocol 1 and the backend', async () => {
    const version = await client.version();
    assert.equal(version.protocol, 1);
    assert.match(version.egressd, /\S/);
    assert.ok(['nftables', 'pf'].includes(version.backend), version.backend);
  });

  describe('attach', () => {
    it('by text answers the rule set and the policy in canonical text', async () => {
      const attached = await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
      assert.equal(attached.containerId, 'c1');
      assert.match(attached.ruleSet, /\S/);
      assert.match(attached.policy.text, /192\.0\.2\.10/);
      assert.equal(attached.policy.name, undefined);
    });

    it('by name reads the policy file of that name', async () => {
      const attached = await client.attach({ container: container('c1', 5), policy: { name: 'agent' } });
      assert.equal(attached.policy.name, 'agent');
      assert.match(attached.policy.text, /192\.0\.2\.10/);
    });

    it('again with the same endpoint behaves as update', async () => {
      await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
      const again = await client.attach({ container: container('c1', 5), policy: { text: OTHER_POLICY } });
      assert.match(again.policy.text, /192\.0\.2\.20/);
      const status = await client.status();
      assert.deepEqual(
        status.attachments.map((attachment) => attachment.container.id),
        ['c1'],
      );
    });

    it('of an id attached with another endpoint is a ConflictError', async () => {
      await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
      await assert.rejects(
        client.attach({ container: container('c1', 6), policy: { text: POLICY } }),
        (error) => error instanceof ConflictError && error.code === 'conflict',
      );
    });

    it("of another container's address is a ConflictError", async () => {
      await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
      await assert.rejects(
        client.attach({ container: container('c2', 5), policy: { text: POLICY } }),
        ConflictError,
      );
    });

    it('of a policy that does not parse is an InvalidPolicyError with positioned problems', async () => {
      await assert.rejects(
        client.attach({ container: container('c1', 5), policy: { text: 'allow 192.0.2.10 prot 443\n' } }),
        (error) => {
          assert.ok(error instanceof InvalidPolicyError);
          assert.equal(error.problems[0]?.line, 1);
          assert.ok((error.problems[0]?.column ?? 0) > 1);
          assert.match(error.problems[0]?.message ?? '', /port/);
          return true;
        },
      );
      assert.deepEqual((await client.status()).attachments, []);
    });

    it('of a policy this enforcer cannot enforce is an UnsupportedPolicyError with a hint', async () => {
      await assert.rejects(
        client.attach({ container: container('c1', 5), policy: { text: 'allow *.example.com port 443\ndns none\n' } }),
        (error) => error instanceof UnsupportedPolicyError && typeof error.hint === 'string',
      );
    });

    it('by the name of a policy file that does not exist is an InvalidRequestError about policy.name', async () => {
      await assert.rejects(
        client.attach({ container: container('c1', 5), policy: { name: 'no-such-policy' } }),
        (error) => error instanceof InvalidRequestError && error.field === 'policy.name',
      );
    });

    it('of a malformed address is an InvalidRequestError', async () => {
      await assert.rejects(
        client.attach({ container: { id: 'c1', addresses: ['10.0.0.300'] }, policy: { text: POLICY } }),
        InvalidRequestError,
      );
    });
  });

  describe('update', () => {
    it('replaces the policy of an attached container', async () => {
      await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
      const updated = await client.update({ containerId: 'c1', policy: { text: OTHER_POLICY } });
      assert.equal(updated.containerId, 'c1');
      assert.match(updated.policy.text, /192\.0\.2\.20/);
    });

    it('of a container not attached is a NotAttachedError naming it', async () => {
      await assert.rejects(
        client.update({ containerId: 'ghost', policy: { text: POLICY } }),
        (error) => error instanceof NotAttachedError && error.containerId === 'ghost',
      );
    });
  });

  it('detach says whether the container was attached, and is no error when it was not', async () => {
    await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
    assert.deepEqual(await client.detach({ containerId: 'c1' }), { containerId: 'c1', wasAttached: true });
    assert.deepEqual(await client.detach({ containerId: 'c1' }), { containerId: 'c1', wasAttached: false });
  });

  it('reconcile detaches the containers not listed and keeps the listed ones', async () => {
    await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
    await client.attach({ container: container('c2', 6), policy: { text: POLICY } });
    const reconciled = await client.reconcile({ liveContainerIds: ['c1'] });
    assert.deepEqual(reconciled.detached, ['c2']);
    assert.ok(Array.isArray(reconciled.orphanRuleSetsRemoved));
    assert.ok(Array.isArray(reconciled.repaired));
    const status = await client.status();
    assert.deepEqual(
      status.attachments.map((attachment) => attachment.container.id),
      ['c1'],
    );
  });

  it('status lists each attachment with its container, policy and time, and the counters', async () => {
    await client.attach({ container: container('c1', 5), policy: { name: 'agent' } });
    const status = await client.status();
    assert.equal(status.protocol, 1);
    const [attachment] = status.attachments;
    assert.deepEqual(attachment?.container, container('c1', 5));
    assert.equal(attachment?.policy.name, 'agent');
    assert.match(attachment?.attachedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Array.isArray(status.resolver.names));
    assert.ok(Array.isArray(status.health.problems));
    assert.ok(Number.isInteger(status.counters.requests));
    assert.ok(status.counters.connections >= 1, 'the connections open now, this one included');
  });

  it('check answers a summary for a valid policy and positioned problems for an invalid one', async () => {
    const valid = await client.check({ text: POLICY });
    assert.ok(valid.valid);
    assert.match(valid.summary, /1 allow rule/);
    const invalid = await client.check({ text: POLICY + 'allow 192.0.2.30 prot 443\n' });
    assert.ok(!invalid.valid);
    assert.equal(invalid.problems[0]?.line, 3);
  });

  it('answers pipelined requests in order, each to its own request', async () => {
    const ids = Array.from({ length: 20 }, (_, index) => `p${index}`);
    const answers = await Promise.all([
      ...ids.map((id, index) => client.attach({ container: container(id, 10 + index), policy: { text: POLICY } })),
      client.detach({ containerId: 'p0' }),
      client.check({ text: 'nonsense\n' }),
      client.update({ containerId: 'p1', policy: { text: OTHER_POLICY } }),
    ]);
    assert.deepEqual(
      answers.slice(0, 20).map((answer) => 'containerId' in answer && answer.containerId),
      ids,
    );
    assert.deepEqual(answers[20], { containerId: 'p0', wasAttached: true });
    assert.equal('valid' in answers[21]! && answers[21].valid, false);
    assert.match('policy' in answers[22]! ? answers[22].policy.text : '', /192\.0\.2\.20/);
  });

  describe('events', () => {
    it('attach, update and detach reach a subscriber', async () => {
      await withStream(async (stream) => {
        await readUntil(stream, subscribed(false));
        await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
        const attached = await readUntil(stream, eventFor('attached', 'c1'));
        assert.match(attached.item.event.type === 'attached' ? attached.item.event.policy : '', /192\.0\.2\.10/);
        await client.update({ containerId: 'c1', policy: { text: OTHER_POLICY } });
        await readUntil(stream, eventFor('updated', 'c1'));
        await client.detach({ containerId: 'c1' });
        await readUntil(stream, eventFor('detached', 'c1'));
      });
    });

    it('the stream and requests come back after the daemon restarts, and say so', async (t) => {
      const restart = daemon.restart;
      if (!restart) return t.skip('this harness cannot restart the daemon (set EGRESSD_COMMAND)');
      await withStream(async (stream) => {
        await readUntil(stream, subscribed(false));
        await client.attach({ container: container('c1', 5), policy: { text: POLICY } });
        await readUntil(stream, eventFor('attached', 'c1'));

        await restart();
        const broken = await readUntil(stream, disconnected);
        assert.ok(broken.item.error instanceof EgressdConnectionError, String(broken.item.error));
        await readUntil(stream, subscribed(true), 30_000);

        // The rule sets survive a restart; the request connection is opened anew.
        const status = await client.status();
        assert.deepEqual(
          status.attachments.map((attachment) => attachment.container.id),
          ['c1'],
        );
        await client.attach({ container: container('c2', 6), policy: { text: POLICY } });
        await readUntil(stream, eventFor('attached', 'c2'));
      });
    });
  });
});
