import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { UnsupportedPolicyError } from '@egress/egressd-client';

import { appleContainerEgress } from '../src/index.js';
import { FakeCli, FakeEgressd } from './fakes.js';

const CTX = { containerName: 'nanoclaw-main-1', policy: { name: 'agent' } };
const LIST = 'container ls --format json';
const INSPECT = 'container inspect nanoclaw-main-1';
const STOP = 'container stop nanoclaw-main-1';

/** A container snapshot as Apple's CLI 1.x prints it. */
function snapshot(id: string, state: string, labels: Record<string, string>, withAddress: boolean) {
  const networks = withAddress
    ? [{ network: 'nanoclaw', ipv4Address: '192.168.70.5/24', ipv4Gateway: '192.168.70.1', ipv6Address: 'fd00:70::5/64' }]
    : [];
  return { configuration: { id, labels }, status: { state, networks } };
}

const starting = JSON.stringify([snapshot('nanoclaw-main-1', 'running', {}, false)]);
const running = JSON.stringify([snapshot('nanoclaw-main-1', 'running', {}, true)]);

async function setUp(answers: Record<string, string | Error | (string | Error)[]>) {
  const egressd = new FakeEgressd();
  const cli = new FakeCli({ [LIST]: '[]', ...answers });
  const provider = appleContainerEgress({
    connect: async () => egressd,
    network: 'nanoclaw',
    dns: '192.168.70.53',
    run: cli.run,
    addressTimeoutMs: 300,
  });
  await provider.ensure();
  return { egressd, cli, provider };
}

describe('Apple Container', () => {
  it('ensure reconciles egressd with the managed containers that run', async () => {
    const { egressd } = await setUp({
      [LIST]: JSON.stringify([
        snapshot('nanoclaw-main-1', 'running', { 'dev.egress.managed': 'true' }, true),
        snapshot('nanoclaw-old-0', 'stopped', { 'dev.egress.managed': 'true' }, false),
        snapshot('unrelated', 'running', {}, true),
      ]),
    });
    assert.deepEqual(egressd.reconciled, [['nanoclaw-main-1']]);
  });

  it('adds the network, the resolver and the label before the spawn, and attaches nothing yet', async () => {
    const { egressd, provider } = await setUp({});
    const args = await provider.applyContainerArgs(['run', '-i', '--rm', '--name', 'nanoclaw-main-1', 'image'], CTX);
    assert.deepEqual(args, [
      ...['run', '--network', 'nanoclaw', '--dns', '192.168.70.53', '--label', 'dev.egress.managed=true'],
      ...['-i', '--rm', '--name', 'nanoclaw-main-1', 'image'],
    ]);
    assert.equal(egressd.attachments.size, 0);
  });

  it('after the start, waits for the addresses and attaches every one of them with the gateway', async () => {
    const notCreatedYet = new Error('container nanoclaw-main-1 not found');
    const { egressd, cli, provider } = await setUp({ [INSPECT]: [notCreatedYet, starting, running] });
    await provider.afterStart(CTX);
    assert.deepEqual(egressd.attachments.get('nanoclaw-main-1')?.container, {
      id: 'nanoclaw-main-1',
      addresses: ['192.168.70.5', 'fd00:70::5'],
      gateway: '192.168.70.1',
    });
    assert.equal(cli.calls.filter((call) => call === INSPECT).length, 3);
    assert.ok(!cli.calls.includes(STOP));
  });

  it('stops the container when the attach fails', async () => {
    const { egressd, cli, provider } = await setUp({ [INSPECT]: running, [STOP]: 'nanoclaw-main-1\n' });
    egressd.failNextAttach = new UnsupportedPolicyError('wildcards need DNS filtering', {});
    await assert.rejects(provider.afterStart(CTX), UnsupportedPolicyError);
    assert.ok(cli.calls.includes(STOP));
  });

  it('stops the container when it gets no address in time', async () => {
    const { egressd, cli, provider } = await setUp({ [INSPECT]: starting, [STOP]: '' });
    await assert.rejects(provider.afterStart(CTX), /no address after 300 ms: it is running without an address/);
    assert.ok(cli.calls.includes(STOP));
    assert.equal(egressd.attachments.size, 0);
  });

  it('says so when the container could not be stopped either', async () => {
    const { cli, provider } = await setUp({ [INSPECT]: starting, [STOP]: new Error('XPC connection error') });
    await assert.rejects(provider.afterStart(CTX), (error) => {
      assert.ok(error instanceof AggregateError);
      assert.match(error.message, /could not be stopped: stop it by hand/);
      assert.match(String(error.errors[1]), /XPC connection error/);
      return true;
    });
    assert.ok(cli.calls.includes(STOP));
  });

  it('detaches on exit', async () => {
    const { egressd, provider } = await setUp({ [INSPECT]: running });
    await provider.afterStart(CTX);
    await provider.onExit(CTX);
    assert.equal(egressd.attachments.size, 0);
  });
});
