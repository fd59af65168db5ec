package dev.egress.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.testkit.container.FakeContainer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ContainerJsonTest {
  private final ContainerJson json = new ContainerJson();

  @Test
  void parse_version1_readsStateAddressesGatewayAndIpv6WithPrefixes() throws Exception {
    List<ContainerInfo> containers =
        json.parse(
            """
        [{"configuration":{"id":"nanoclaw-main-1","labels":{"dev.egress.group":"main"}},
          "status":{"state":"running","networks":[{"network":"default",
            "ipv4Address":"192.168.64.3/24","ipv4Gateway":"192.168.64.1",
            "ipv6Address":"fd00:6e61::3/64"}]}}]""");

    ContainerInfo info = containers.get(0);
    assertEquals("nanoclaw-main-1", info.id());
    assertTrue(info.isRunning());
    assertEquals(Map.of("dev.egress.group", "main"), info.labels());
    NetworkAttachment network = info.networks().get(0);
    assertEquals("default", network.network());
    assertEquals("192.168.64.3/24", String.valueOf(network.ipv4()));
    assertEquals("fd00:6e61::3/64", String.valueOf(network.ipv6()));
    assertEquals(Optional.of(IpAddresses.parse("192.168.64.1")), info.gateway());
    assertEquals(
        List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:6e61::3")),
        info.addresses());
  }

  @Test
  void parse_version0_8_readsTopLevelStatusAndNetworks() throws Exception {
    ContainerInfo info =
        json.parse(
                """
        [{"configuration":{"id":"a"},"status":"running",
          "networks":[{"network":"default","ipv4Address":"192.168.64.7/24",
                       "ipv4Gateway":"192.168.64.1"}]}]""")
            .get(0);

    assertEquals("running", info.state());
    assertEquals("192.168.64.7/24", String.valueOf(info.networks().get(0).ipv4()));
    assertNull(info.networks().get(0).ipv6());
    assertEquals(Optional.of(IpAddresses.parse("192.168.64.1")), info.gateway());
  }

  @Test
  void parse_version0_7_readsAddressAndGatewayFields() throws Exception {
    ContainerInfo info =
        json.parse(
                """
        [{"configuration":{"id":"a"},"status":"Running",
          "networks":[{"network":"default","address":"192.168.64.9/24","gateway":"192.168.64.1"}]}]
        """)
            .get(0);

    assertTrue(info.isRunning());
    assertEquals("192.168.64.9/24", String.valueOf(info.networks().get(0).ipv4()));
    assertEquals(Optional.of(IpAddresses.parse("192.168.64.1")), info.gateway());
  }

  @Test
  void parse_beforeTheAddressIsAssigned_reportsNoAddress() throws Exception {
    List<ContainerInfo> infos =
        json.parse(
            """
        [{"configuration":{"id":"a"},"status":{"state":"running","networks":[]}},
         {"configuration":{"id":"b"},"status":"running","networks":[{"network":"default","ipv4Address":""}]}]
        """);

    assertEquals(List.of(), infos.get(0).addresses());
    assertEquals(List.of(), infos.get(1).addresses());
  }

  @Test
  void parse_unreadableAddress_failsNamingContainerAndField() {
    ContainerCliException e =
        assertThrows(
            ContainerCliException.class,
            () ->
                json.parse(
                    """
        [{"configuration":{"id":"x1"},"status":"running",
          "networks":[{"ipv4Address":"192.168.64/24"}]}]"""));
    assertTrue(
        e.getMessage().contains("x1") && e.getMessage().contains("ipv4Address"), e.getMessage());
  }

  @Test
  void parse_missingId_fails() {
    ContainerCliException e =
        assertThrows(ContainerCliException.class, () -> json.parse("[{\"status\":\"running\"}]"));
    assertTrue(e.getMessage().contains("configuration.id"), e.getMessage());
  }

  @Test
  void parse_notJson_fails() {
    ContainerCliException e =
        assertThrows(
            ContainerCliException.class, () -> json.parse("Error: XPC connection interrupted"));
    assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());
    assertThrows(ContainerCliException.class, () -> json.parse("42"));
  }

  @Property(tries = 300)
  void parse_everyFormat_keepsAddressAndPrefix(
      @ForAll("ipv4") String address,
      @ForAll @IntRange(min = 8, max = 32) int prefix,
      @ForAll FakeContainer.Format format)
      throws Exception {
    String fields =
        switch (format) {
          case V1, V0_8 ->
              "\"ipv4Address\":\"" + address + "/" + prefix + "\",\"ipv4Gateway\":\"10.0.0.1\"";
          case V0_7 -> "\"address\":\"" + address + "/" + prefix + "\",\"gateway\":\"10.0.0.1\"";
        };
    String networks = "[{\"network\":\"n\"," + fields + "}]";
    String text =
        format == FakeContainer.Format.V1
            ? "[{\"configuration\":{\"id\":\"c\"},\"status\":{\"state\":\"running\",\"networks\":"
                + networks
                + "}}]"
            : "[{\"configuration\":{\"id\":\"c\"},\"status\":\"running\",\"networks\":"
                + networks
                + "}]";

    PrefixedAddress parsed = json.parse(text).get(0).networks().get(0).ipv4();

    assertEquals(new PrefixedAddress(IpAddresses.parse(address), prefix), parsed);
    assertTrue(parsed.network().contains(parsed.address()));
    assertEquals(List.of(IpAddresses.parse(address)), json.parse(text).get(0).addresses());
  }

  @Provide
  Arbitrary<String> ipv4() {
    return Arbitraries.integers()
        .between(0, 255)
        .list()
        .ofSize(4)
        .map(
            octets ->
                octets.get(0) + "." + octets.get(1) + "." + octets.get(2) + "." + octets.get(3));
  }
}
