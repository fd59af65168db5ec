package dev.egress.examples.launcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import org.junit.jupiter.api.Test;

class ContainerNetworkTest {
  private static final IpNetwork V4 = IpNetwork.parse("10.213.0.0/24");
  private static final IpNetwork V6 = IpNetwork.parse("fd00:10:213::/64");

  @Test
  void covers_anIpv6Address_whenNoIpv6PrefixIsConfigured_isFalse() {
    ContainerNetwork network = new ContainerNetwork("nanoclaw", V4);

    assertFalse(network.covers(IpAddresses.parse("fd00:6e61:6e6f::2")));
    assertFalse(network.covers(IpAddresses.parse("fe80::1")));
    assertTrue(network.covers(IpAddresses.parse("10.213.0.2")));
  }

  @Test
  void covers_withAnIpv6Prefix_acceptsOnlyAddressesInsideIt() {
    ContainerNetwork network = new ContainerNetwork("nanoclaw", V4, V6);

    assertTrue(network.covers(IpAddresses.parse("fd00:10:213::2")));
    assertFalse(network.covers(IpAddresses.parse("fd00:6e61:6e6f::2")));
    assertFalse(network.covers(IpAddresses.parse("10.213.1.2")));
  }
}
