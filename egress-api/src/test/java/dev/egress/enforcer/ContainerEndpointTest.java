package dev.egress.enforcer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ContainerEndpointTest {
  private static final InetAddress V4 = IpAddresses.parse("192.168.64.3");
  private static final InetAddress V6 = IpAddresses.parse("fd00::3");
  private static final InetAddress GATEWAY = IpAddresses.parse("192.168.64.1");
  private static final ContainerId A = ContainerId.of("a");

  @Test
  void addresses_areListedIpv4First() {
    ContainerEndpoint endpoint =
        new ContainerEndpoint(ContainerId.of("agent-1"), List.of(V6, V4), GATEWAY);
    assertEquals(List.of(V4, V6), endpoint.addresses());
    assertEquals("agent-1 192.168.64.3,fd00::3 via 192.168.64.1", endpoint.toString());
  }

  @Test
  void of_usesTheAddressId_andHasNoGateway() {
    ContainerEndpoint endpoint = ContainerEndpoint.of(V6);
    assertEquals(ContainerId.forAddress(V6), endpoint.id());
    assertEquals("fd00::3", endpoint.id().value());
    assertNull(endpoint.gateway());
  }

  @Test
  void anEndpointNeedsAnAddress() {
    assertThrows(IllegalArgumentException.class, () -> new ContainerEndpoint(A, List.of(), null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0", "127.0.0.1", "::1", "::", "224.0.0.1", "ff02::1"})
  void unspecifiedLoopbackAndMulticastAddresses_areRefused(String address) {
    assertThrows(
        IllegalArgumentException.class,
        () -> new ContainerEndpoint(A, List.of(IpAddresses.parse(address)), null));
  }

  @Test
  void anAddressListedTwice_isRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> new ContainerEndpoint(A, List.of(V4, V4), null));
  }

  @Test
  void egressException_appendsItsHintToTheMessage() {
    EgressException e = new EgressException("pfctl failed", "run as root", null);
    assertEquals("pfctl failed (run as root)", e.getMessage());
    assertEquals("run as root", e.hint());
    assertEquals("", new EgressException("plain").hint());
  }

  @Test
  void reconcileResult_copiesItsSets() {
    Set<Subject.Removable> removed = new java.util.HashSet<>(Set.of(Subject.container(A)));
    ReconcileResult result = new ReconcileResult(removed, Set.of());
    removed.add(Subject.unowned(new ContainerIdTest.Name("b")));
    assertEquals(Set.of(Subject.container(A)), result.removed());
  }
}
