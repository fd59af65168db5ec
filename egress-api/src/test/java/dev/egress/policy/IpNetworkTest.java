package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpNetworkTest {
  private static String rejected(String text) {
    return assertThrows(IllegalArgumentException.class, () -> IpNetwork.parse(text)).getMessage();
  }

  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  @ParameterizedTest
  @CsvSource({
    "10.1.2.3/8, 10.0.0.0/8",
    "192.168.64.7/24, 192.168.64.0/24",
    "10.0.0.1/31, 10.0.0.0/31",
    "fd00::1/8, fd00::/8",
    "2001:db8::1:1/112, 2001:db8::1:0/112",
    "2001:db8::1/127, 2001:db8::/127"
  })
  void parse_withHostBitsSet_isRejected_withTheCorrectedForm(String text, String corrected) {
    String message = rejected(text);
    assertTrue(
        message.contains("host bits set") && message.contains("did you mean " + corrected + "?"),
        message);
    assertEquals(corrected, IpNetwork.parse(corrected).toString());
  }

  @ParameterizedTest
  @CsvSource({"10.0.0.0/33, 0-32", "::/129, 0-128", "10.0.0.0/999, 0-32"})
  void parse_withAPrefixOutOfRange_namesTheRange(String text, String range) {
    String message = rejected(text);
    assertTrue(message.contains("out of range " + range), message);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/8/8",
        "10.0.0.0/1000",
        "10.0.0.0/ 8",
        "10.0.0.0/٨",
        "10.0.0.0/８"
      })
  void parse_withAPrefixThatIsNotANumber_isRejected(String text) {
    String message = rejected(text);
    assertTrue(message.contains("not a prefix length"), message);
  }

  @Test
  void parse_ofABareAddress_isASingleHost_writtenBare() {
    IpNetwork host = IpNetwork.parse("10.1.2.3");
    assertTrue(host.isSingleHost());
    assertEquals(32, host.prefixLength());
    assertEquals("10.1.2.3", host.toString());
    assertEquals(host, IpNetwork.parse("10.1.2.3/32"));
    assertEquals("fd00::1", IpNetwork.parse("fd00::1/128").toString());
  }

  @Test
  void constructor_checksLikeParse() {
    assertThrows(IllegalArgumentException.class, () -> new IpNetwork(ip("10.0.0.1"), 8));
    assertThrows(IllegalArgumentException.class, () -> new IpNetwork(ip("10.0.0.0"), -1));
    assertEquals("0.0.0.0/0", new IpNetwork(ip("0.0.0.0"), 0).toString());
  }

  @Test
  void contains_holdsTheAddressesOfTheNetwork_only() {
    IpNetwork network = IpNetwork.parse("10.0.0.0/8");
    assertTrue(network.contains(ip("10.0.0.0")));
    assertTrue(network.contains(ip("10.255.255.255")));
    assertFalse(network.contains(ip("11.0.0.0")));
    assertFalse(network.contains(ip("9.255.255.255")));
    assertTrue(IpNetwork.parse("fd00::/8").contains(ip("fdff:1::1")));
    assertFalse(IpNetwork.parse("fd00::/8").contains(ip("fe00::1")));
  }

  @Test
  void contains_neverCrossesFamilies() throws Exception {
    IpNetwork v4 = IpNetwork.parse("10.0.0.0/8");
    IpNetwork v6 = IpNetwork.parse("::/1");
    InetAddress compatible = ip("::10.0.0.1");
    InetAddress mapped =
        Inet6Address.getByAddress(
            null,
            new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 0, 0, 1},
            -1);

    assertFalse(v4.contains(compatible));
    assertFalse(v4.contains(mapped));
    assertFalse(v6.contains(ip("10.0.0.1")));
    assertFalse(v6.contains(ip("0.0.0.1")));
    assertTrue(v6.contains(compatible));
    assertFalse(IpNetwork.parse("::/96").contains(ip("0.0.0.0")));
  }

  @Test
  void compareTo_putsIpv4FirstThenOrdersByAddressThenPrefix() {
    assertTrue(IpNetwork.parse("255.0.0.0/8").compareTo(IpNetwork.parse("::/8")) < 0);
    assertTrue(IpNetwork.parse("10.0.0.0/8").compareTo(IpNetwork.parse("10.0.0.0/16")) < 0);
    assertTrue(IpNetwork.parse("9.0.0.0/8").compareTo(IpNetwork.parse("10.0.0.0/8")) < 0);
    assertTrue(IpNetwork.parse("128.0.0.0/8").compareTo(IpNetwork.parse("10.0.0.0/8")) > 0);
  }

  @Test
  void isIpv6_followsTheAddress() {
    assertTrue(IpNetwork.parse("fd00::/8").isIpv6());
    assertFalse(IpNetwork.parse("10.0.0.0/8").isIpv6());
  }

  @Test
  void containing_clearsTheHostBits_andRefusesAPrefixOutOfRange() {
    assertEquals(
        IpNetwork.parse("192.168.64.0/24"),
        IpNetwork.containing(IpAddresses.parse("192.168.64.3"), 24));
    assertEquals(
        IpNetwork.parse("fd00:64::/64"),
        IpNetwork.containing(IpAddresses.parse("fd00:64::fc07:c5ff:fe48:9c9"), 64));
    assertEquals(
        IpNetwork.parse("10.0.0.1"), IpNetwork.containing(IpAddresses.parse("10.0.0.1"), 32));
    assertThrows(
        IllegalArgumentException.class,
        () -> IpNetwork.containing(IpAddresses.parse("10.0.0.1"), 33));
    assertThrows(
        IllegalArgumentException.class,
        () -> IpNetwork.containing(IpAddresses.parse("fd00::1"), -1));
  }
}
