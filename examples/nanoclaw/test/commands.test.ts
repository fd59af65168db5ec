import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { endpointOf, parseAppleContainers } from '../src/commands.js';

describe("parseAppleContainers reads each shape of Apple's container JSON", () => {
  it('0.8 to 0.12: a string status beside a top-level networks list', () => {
    const [container] = parseAppleContainers(
      JSON.stringify([
        {
          configuration: { id: 'c1', labels: { 'dev.egress.managed': 'true' } },
          status: 'Running',
          networks: [{ network: 'default', ipv4Address: '192.168.64.3/24', ipv4Gateway: '192.168.64.1' }],
        },
      ]),
    );
    assert.deepEqual(container && endpointOf(container), { id: 'c1', addresses: ['192.168.64.3'], gateway: '192.168.64.1' });
    assert.equal(container?.labels['dev.egress.managed'], 'true');
  });

  it('0.7: address and gateway', () => {
    const [container] = parseAppleContainers(
      JSON.stringify([{ configuration: { id: 'c1' }, status: 'running', networks: [{ address: '192.168.64.3/24', gateway: '192.168.64.1' }] }]),
    );
    assert.deepEqual(container && endpointOf(container), { id: 'c1', addresses: ['192.168.64.3'], gateway: '192.168.64.1' });
  });

  it('a stopped container or one without an address has no endpoint yet', () => {
    const containers = parseAppleContainers(
      JSON.stringify([
        { configuration: { id: 'stopped' }, status: { state: 'stopped', networks: [{ ipv4Address: '192.168.64.3/24' }] } },
        { configuration: { id: 'starting' }, status: { state: 'running', networks: [] } },
      ]),
    );
    assert.deepEqual(containers.map(endpointOf), [undefined, undefined]);
  });

  it('refuses an address it cannot read rather than attach to the others', () => {
    const json = JSON.stringify([
      { configuration: { id: 'c1' }, status: { state: 'running', networks: [{ ipv4Address: '192.168.64.3/24', ipv6Address: 'fd00::zz/64' }] } },
    ]);
    assert.throws(() => parseAppleContainers(json), /c1 reports "fd00::zz\/64", which is not an address/);
  });

  it('refuses JSON that is no list of containers', () => {
    assert.throws(() => parseAppleContainers('{}'), /no JSON array/);
    assert.throws(() => parseAppleContainers('[{"status": "running"}]'), /no configuration.id/);
  });
});
