package dev.egress.enforcer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  @Test
  void addresses_areListedIpv4First() {
    ContainerEndpoint endpoint = new ContainerEndpoint("agent-1", List.of(V6, V4), GATEWAY);
    assertEquals(List.of(V4, V6), endpoint.addresses());
    assertEquals("agent-1 192.168.64.3,fd00::3 via 192.168.64.1", endpoint.toString());
  }

  @Test
  void of_usesTheAddressTextAsId_andHasNoGateway() {
    ContainerEndpoint endpoint = ContainerEndpoint.of(V6);
    assertEquals("fd00::3", endpoint.id());
    assertNull(endpoint.gateway());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "has space", "tab\there", "ünïcode", "new\nline"})
  void ids_mustBePrintableAsciiWithoutSpaces(String id) {
    String message =
        assertThrows(
                IllegalArgumentException.class, () -> new ContainerEndpoint(id, List.of(V4), null))
            .getMessage();
    assertTrue(message.contains("printable ASCII"), message);
    assertTrue(message.lines().count() == 1, message);
  }

  @Test
  void aRefusedId_isQuotedEscapedAndCut() {
    String message =
        assertThrows(
                IllegalArgumentException.class,
                () -> new ContainerEndpoint("a\u202Eb" + "x".repeat(3000), List.of(V4), null))
            .getMessage();
    assertTrue(
        message.endsWith(", got 'a\\u202Eb" + "x".repeat(72) + "...' (3003 characters)"), message);
  }

  @Test
  void ids_ofUpTo200Characters_areAccepted() {
    assertEquals(200, new ContainerEndpoint("x".repeat(200), List.of(V4), null).id().length());
    assertThrows(
        IllegalArgumentException.class,
        () -> new ContainerEndpoint("x".repeat(201), List.of(V4), null));
  }

  @Test
  void anEndpointNeedsAnAddress() {
    assertThrows(IllegalArgumentException.class, () -> new ContainerEndpoint("a", List.of(), null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0", "127.0.0.1", "::1", "::", "224.0.0.1", "ff02::1"})
  void unspecifiedLoopbackAndMulticastAddresses_areRefused(String address) {
    assertThrows(
        IllegalArgumentException.class,
        () -> new ContainerEndpoint("a", List.of(IpAddresses.parse(address)), null));
  }

  @Test
  void anAddressListedTwice_isRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> new ContainerEndpoint("a", List.of(V4, V4), null));
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
    Set<String> removed = new java.util.HashSet<>(Set.of("a"));
    ReconcileResult result = new ReconcileResult(removed, Set.of());
    removed.add("b");
    assertEquals(Set.of("a"), result.removed());
  }
}
