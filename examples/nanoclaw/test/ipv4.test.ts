import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Ipv4Subnet } from '../src/ipv4.js';

describe('Ipv4Subnet', () => {
  it('refuses what is not an IPv4 network of /8 to /30 without host bits', () => {
    for (const cidr of ['172.30.0.0', '172.30.0.0/31', '10.0.0.0/7', '172.30.0.1/24', 'fd00::/64', '172.30.0.0/2x']) {
      assert.throws(() => Ipv4Subnet.parse(cidr), Error, cidr);
    }
  });

  it('knows its hosts and what it contains', () => {
    const subnet = Ipv4Subnet.parse('10.1.0.0/16');
    assert.equal(subnet.host(1), '10.1.0.1');
    assert.equal(subnet.host(256), '10.1.1.0');
    assert.throws(() => subnet.host(65_535), /no host/); // the broadcast address
    assert.ok(subnet.contains('10.1.255.255'));
    assert.ok(!subnet.contains('10.2.0.0'));
    assert.ok(!subnet.contains('fd00::1'));
  });

  it('hands out every host once before wrapping, never the network or broadcast address', () => {
    const subnet = Ipv4Subnet.parse('192.168.5.248/29');
    const taken = new Set<string>();
    let previous: string | undefined;
    for (let i = 0; i < 6; i++) {
      previous = subnet.nextFree(taken, previous);
      assert.ok(previous !== undefined);
      taken.add(previous);
    }
    assert.deepEqual([...taken], ['192.168.5.249', '192.168.5.250', '192.168.5.251', '192.168.5.252', '192.168.5.253', '192.168.5.254']);
    assert.equal(subnet.nextFree(taken, previous), undefined);
    taken.delete('192.168.5.250');
    assert.equal(subnet.nextFree(taken, previous), '192.168.5.250');
  });
});
