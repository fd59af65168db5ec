import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EnforcementFailedError } from '@egress/egressd-client';

import { dockerEgress, type DockerOptions } from '../src/index.js';
import { FakeCli, FakeEgressd } from './fakes.js';

const RUNNING = 'docker ps --filter label=dev.egress.managed=true --format {{.Names}}';
const LABELLED = 'docker ps --all --filter label=dev.egress.address --format {{.Label "dev.egress.address"}}';
const POLICY = { name: 'agent' };

function runArgs(name: string): string[] {
  return ['run', '-i', '--rm', '--name', name, '-e', 'TZ=UTC', 'nanoclaw-agent:latest'];
}

async function setUp(answers: Record<string, string | Error | (string | Error)[]> = {}, options: Partial<DockerOptions> = {}) {
  const egressd = new FakeEgressd();
  const cli = new FakeCli({ [RUNNING]: '', [LABELLED]: '', ...answers });
  const provider = dockerEgress({
    connect: async () => egressd,
    network: 'nanoclaw-egress',
    subnet: '172.30.0.0/24',
    dns: '172.30.0.1', // egressd's DNS filter on the gateway, for policies that say `dns filter`
    run: cli.run,
    ...options,
  });
  await provider.ensure();
  return { egressd, cli, provider };
}

describe('Docker', () => {
  it('ensure reconciles egressd with the managed containers that run', async () => {
    const { egressd } = await setUp({ [RUNNING]: 'nanoclaw-main-1\nnanoclaw-team-2\n' });
    assert.deepEqual(egressd.reconciled, [['nanoclaw-main-1', 'nanoclaw-team-2']]);
  });

  it('attaches the policy to a pre-allocated address before the container is started', async () => {
    const { egressd, cli, provider } = await setUp();
    const args = await provider.applyContainerArgs(runArgs('nanoclaw-main-1'), { containerName: 'nanoclaw-main-1', policy: POLICY });
    assert.deepEqual(args, [
      ...['run', '--network', 'nanoclaw-egress', '--ip', '172.30.0.2', '--dns', '172.30.0.1'],
      ...['--label', 'dev.egress.managed=true', '--label', 'dev.egress.address=172.30.0.2'],
      ...runArgs('nanoclaw-main-1').slice(1),
    ]);
    assert.deepEqual(egressd.attachments.get('nanoclaw-main-1')?.container, {
      id: 'nanoclaw-main-1',
      addresses: ['172.30.0.2'],
      gateway: '172.30.0.1',
    });
    assert.ok(!cli.calls.some((call) => call.startsWith('docker run') || call.startsWith('docker start')));
    const callsBefore = cli.calls.length;
    await provider.afterStart({ containerName: 'nanoclaw-main-1', policy: POLICY });
    assert.equal(cli.calls.length, callsBefore, 'afterStart runs nothing for Docker');
  });

  it("skips the network's own addresses, attached ones and those of managed containers", async () => {
    const { egressd, provider } = await setUp(
      { [LABELLED]: '172.30.0.3\n\n172.30.0.6\n' },
      { subnet: '172.30.0.0/29', gateway: '172.30.0.4', dns: '172.30.0.2' },
    );
    await egressd.attach({ container: { id: 'other', addresses: ['172.30.0.1'] }, policy: POLICY });
    const first = await provider.applyContainerArgs(runArgs('a'), { containerName: 'a', policy: POLICY });
    assert.equal(first[first.indexOf('--ip') + 1], '172.30.0.5');
    // .0 is the network, .7 the broadcast address: nothing is left.
    await assert.rejects(provider.applyContainerArgs(runArgs('b'), { containerName: 'b', policy: POLICY }), /no free address left in 172\.30\.0\.0\/29/);
    assert.deepEqual([...egressd.attachments.keys()], ['other', 'a']);
  });

  it('gives concurrent spawns different addresses', async () => {
    const { egressd, provider } = await setUp();
    const names = ['a', 'b', 'c', 'd', 'e'];
    const spawned = await Promise.all(names.map((name) => provider.applyContainerArgs(runArgs(name), { containerName: name, policy: POLICY })));
    const addresses = spawned.map((args) => args[args.indexOf('--ip') + 1]);
    assert.equal(new Set(addresses).size, names.length, addresses.join());
    assert.equal(egressd.attachments.size, names.length);
  });

  it('hands addresses out in turn, so a released one is not reused at once', async () => {
    const { provider } = await setUp({}, { subnet: '172.30.0.0/29', dns: '172.30.0.6' });
    const ip = (args: string[]) => args[args.indexOf('--ip') + 1];
    const spawn = (name: string) => provider.applyContainerArgs(runArgs(name), { containerName: name, policy: POLICY });
    assert.equal(ip(await spawn('a')), '172.30.0.2');
    await provider.onExit({ containerName: 'a', policy: POLICY });
    assert.equal(ip(await spawn('b')), '172.30.0.3');
    assert.equal(ip(await spawn('c')), '172.30.0.4');
    assert.equal(ip(await spawn('d')), '172.30.0.5');
    assert.equal(ip(await spawn('e')), '172.30.0.2', 'wraps around to the released address');
  });

  it('fails the spawn when the attach fails, and leaves the address free', async () => {
    const { egressd, provider } = await setUp();
    egressd.failNextAttach = new EnforcementFailedError('nft failed', { hint: 'is nft installed?' });
    await assert.rejects(provider.applyContainerArgs(runArgs('a'), { containerName: 'a', policy: POLICY }), EnforcementFailedError);
    assert.equal(egressd.attachments.size, 0);
    const args = await provider.applyContainerArgs(runArgs('b'), { containerName: 'b', policy: POLICY });
    assert.equal(args[args.indexOf('--ip') + 1], '172.30.0.2');
  });

  it('fails the spawn when Docker cannot say which addresses its containers hold', async () => {
    const { egressd, provider } = await setUp({ [LABELLED]: new Error('Cannot connect to the Docker daemon') });
    await assert.rejects(provider.applyContainerArgs(runArgs('a'), { containerName: 'a', policy: POLICY }), /Docker daemon/);
    assert.equal(egressd.attachments.size, 0);
  });

  it('refuses run arguments that choose their own network, address or resolver, or another name', async () => {
    const { egressd, provider } = await setUp();
    const ctx = { containerName: 'a', policy: POLICY };
    for (const args of [
      ['run', '--network=host', '--name', 'a', 'image'],
      ['run', '--name', 'a', '--ip', '10.0.0.5', 'image'],
      ['run', '--name', 'a', '--dns', '8.8.8.8', 'image'],
      ['run', '--name', 'b', 'image'],
      ['create', '--name', 'a', 'image'],
    ]) {
      await assert.rejects(provider.applyContainerArgs(args, ctx), Error, args.join(' '));
    }
    assert.equal(egressd.attachments.size, 0);
  });

  it('detaches on exit', async () => {
    const { egressd, provider } = await setUp();
    await provider.applyContainerArgs(runArgs('a'), { containerName: 'a', policy: POLICY });
    await provider.onExit({ containerName: 'a', policy: POLICY });
    assert.equal(egressd.attachments.size, 0);
  });

  it('refuses to spawn before ensure', async () => {
    const provider = dockerEgress({
      connect: async () => new FakeEgressd(),
      network: 'n',
      subnet: '172.30.0.0/24',
      dns: '172.30.0.53',
      run: new FakeCli().run,
    });
    await assert.rejects(provider.applyContainerArgs(runArgs('a'), { containerName: 'a', policy: POLICY }), /ensure\(\)/);
  });

  it('refuses settings that cannot work', () => {
    const base = { connect: async () => new FakeEgressd(), network: 'n', dns: '172.30.0.53' };
    assert.throws(() => dockerEgress({ ...base, subnet: '172.30.0.1/24' }), /host bits/);
    assert.throws(() => dockerEgress({ ...base, subnet: '172.30.0.0/24', gateway: '10.0.0.1' }), /outside/);
    assert.throws(() => dockerEgress({ ...base, subnet: '172.30.0.0/24', dns: 'resolver.local' }), /dns must be an IP address/);
  });
});
