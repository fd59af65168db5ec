package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpAddressesTest {
  private static String rejected(String text) {
    return assertThrows(IllegalArgumentException.class, () -> IpAddresses.parse(text)).getMessage();
  }

  @Test
  void parse_readsADottedQuad() {
    InetAddress address = IpAddresses.parse("192.0.2.7");
    assertInstanceOf(Inet4Address.class, address);
    assertEquals("192.0.2.7", IpAddresses.format(address));
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.1", "10.1.2", "10", "1.2.3.4.5", ""})
  void parse_rejectsShorthandIpv4(String text) {
    assertTrue(rejected(text).contains("four numbers"), text);
  }

  @ParameterizedTest
  @ValueSource(strings = {"010.0.0.1", "10.00.0.1", "1.2.3.04"})
  void parse_rejectsLeadingZeros(String text) {
    assertTrue(rejected(text).contains("without leading zeros"), text);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "256.0.0.1",
        "1.2.3.1000",
        "1.2.3.-4",
        "1.2.3.x",
        "1.2.3.٤",
        "1.2.3.",
        ".1.2.3",
        "1..2.3"
      })
  void parse_rejectsPartsThatAreNotNumbers0To255(String text) {
    assertTrue(rejected(text).contains("must be a number 0-255"), text);
  }

  @Test
  void parse_namesThePartThatIsWrong() {
    assertTrue(rejected("10.0.300.1").contains("part 3 ('300')"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"::ffff:1.2.3.4", "::FFFF:10.0.0.1", "0:0:0:0:0:ffff:a00:1"})
  void parse_rejectsIpv4MappedIpv6_andSaysWhichIpv4AddressToWrite(String text) {
    String message = rejected(text);
    assertTrue(
        message.contains("IPv4-mapped") && message.contains("write the IPv4 address"), message);
  }

  @Test
  void parse_acceptsIpv4CompatibleIpv6_asIpv6() {
    InetAddress address = IpAddresses.parse("::1.2.3.4");
    assertInstanceOf(Inet6Address.class, address);
    assertEquals("::102:304", IpAddresses.format(address));
  }

  @ParameterizedTest
  @ValueSource(strings = {"fe80::1%en0", "[::1]", "fe80::1%1", "::g", "2001:db8::/32x"})
  void parse_rejectsZoneIdsBracketsAndOtherCharacters(String text) {
    assertTrue(rejected(text).contains("not an IPv6 address"), text);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1::2::3", ":", ":::", "1:2:3:4:5:6:7:8:9", "12345::", ".::1", "..:"})
  void parse_rejectsMalformedIpv6(String text) {
    assertTrue(rejected(text).contains("not an IPv6 address"), text);
  }

  @Test
  void parse_ofTextThatTheJdkWouldLookUp_isRejectedWithoutDns() {
    assertTrue(rejected(".::1").contains("must start with a hex digit or ':'"));
  }

  @Test
  void parse_rejectsOverlongIpv6Text() {
    assertTrue(rejected("0000:".repeat(9) + "1").contains("not an IPv6 address"));
  }

  @ParameterizedTest
  @CsvSource({
    "2001:DB8:0:0:0:0:0:1, 2001:db8::1",
    "2001:0db8::0001, 2001:db8::1",
    "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
    "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
    "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
    "0:0:0:0:0:0:0:0, ::",
    "0:0:0:0:0:0:0:1, ::1",
    "1:0:0:0:0:0:0:0, 1::",
    "fd00:0:0:0:0:0:0:53, fd00::53",
    "1:0:1:0:1:0:1:0, 1:0:1:0:1:0:1:0"
  })
  void format_followsRfc5952(String text, String canonical) {
    assertEquals(canonical, IpAddresses.format(IpAddresses.parse(text)));
  }

  @Test
  void looksLikeAddress_isTrueForDigitsAndDots_orAnyColon() {
    assertTrue(IpAddresses.looksLikeAddress("10.1"));
    assertTrue(IpAddresses.looksLikeAddress("fd00::"));
    assertFalse(IpAddresses.looksLikeAddress("example.com"));
    assertFalse(IpAddresses.looksLikeAddress(""));
  }

  @Test
  void fromBytes_rejectsOtherLengths() {
    assertThrows(IllegalArgumentException.class, () -> IpAddresses.fromBytes(new byte[5]));
  }

  @Provide
  Arbitrary<InetAddress> anyAddress() {
    Arbitrary<byte[]> v4 = Arbitraries.bytes().array(byte[].class).ofSize(4);
    Arbitrary<byte[]> v6 =
        Arbitraries.bytes().array(byte[].class).ofSize(16).filter(b -> !isIpv4Mapped(b));
    Arbitrary<byte[]> sparseV6 =
        Arbitraries.of((byte) 0, (byte) 0, (byte) 0, (byte) 1, (byte) 0xff)
            .array(byte[].class)
            .ofSize(16)
            .filter(b -> !isIpv4Mapped(b));
    return Arbitraries.oneOf(v4, v6, sparseV6).map(IpAddresses::fromBytes);
  }

  private static boolean isIpv4Mapped(byte[] bytes) {
    for (int i = 0; i < 10; i++) {
      if (bytes[i] != 0) {
        return false;
      }
    }
    return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
  }

  @Property
  void format_thenParse_givesTheSameAddress(@ForAll("anyAddress") InetAddress address) {
    String text = IpAddresses.format(address);

    assertEquals(address, IpAddresses.parse(text), text);
    assertEquals(text, IpAddresses.format(IpAddresses.parse(text)));
  }

  @Property
  void format_ofIpv6_compressesTheFirstLongestZeroRun_ofAtLeastTwoGroups(
      @ForAll("anyAddress") InetAddress address) {
    String text = IpAddresses.format(address);
    assertEquals(text.toLowerCase(java.util.Locale.ROOT), text);
    if (!IpAddresses.isIpv6(address)) {
      return;
    }
    int compressedAt = text.indexOf("::");
    assertEquals(compressedAt, text.lastIndexOf("::"), text);
    String[] before =
        compressedAt < 0 ? text.split(":") : text.substring(0, compressedAt).split(":");
    String[] after = compressedAt < 0 ? new String[0] : text.substring(compressedAt + 2).split(":");
    int explicitGroups = nonEmpty(before) + nonEmpty(after);
    int compressed = 8 - explicitGroups;
    if (compressedAt >= 0) {
      assertTrue(compressed >= 2, text);
      assertTrue(longestZeroRun(before) < compressed, text);
      assertTrue(longestZeroRun(after) <= compressed, text);
    } else {
      assertEquals(8, explicitGroups, text);
      assertTrue(longestZeroRun(before) <= 1, text);
    }
  }

  private static int nonEmpty(String[] groups) {
    int count = 0;
    for (String group : groups) {
      count += group.isEmpty() ? 0 : 1;
    }
    return count;
  }

  private static int longestZeroRun(String[] groups) {
    int longest = 0;
    int run = 0;
    for (String group : groups) {
      run = group.equals("0") ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    return longest;
  }
}
