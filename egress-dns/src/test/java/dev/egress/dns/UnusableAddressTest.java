package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class UnusableAddressTest {

  /**
   * Addresses each row must drop, in both families where the row has both, including each range's
   * first and last address. The switch has no default: a new row without samples does not compile.
   */
  private static List<String> dropped(UnusableAddress row) {
    return switch (row) {
      case UNSPECIFIED -> List.of("0.0.0.0", "::");
      case THIS_NETWORK -> List.of("0.0.0.1", "0.1.2.3", "0.255.255.255");
      case LOOPBACK -> List.of("127.0.0.1", "127.0.0.0", "127.255.255.254", "::1");
      case LINK_LOCAL ->
          List.of(
              "169.254.169.254",
              "169.254.0.1",
              "169.254.170.2",
              "169.254.255.255",
              "fe80::1",
              "fe80::a9fe:a9fe",
              "febf::ffff",
              "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
      case CLOUD_METADATA ->
          List.of(
              "100.100.100.200",
              "168.63.129.16",
              "fd00:ec2::254",
              "fd00:ec2::23",
              "fd00:ec2::253",
              "fd00:ec2:ffff:ffff:ffff:ffff:ffff:ffff",
              "fd20:ce::254",
              "fd00:c1::a9fe:a9fe",
              "fd00:100::100:200");
      case MULTICAST -> List.of("224.0.0.251", "239.255.255.250", "ff02::1", "ff0e::1");
      case BROADCAST -> List.of("255.255.255.255");
      case SITE_LOCAL -> List.of("fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
      case IPV4_MAPPED -> List.of(); // not an address literal; see mapped() below
      case NAT64_EMBEDDED -> embedded("64:ff9b::", 12);
      case SIX_TO_FOUR_EMBEDDED -> embedded("2002::", 2);
      case IPV4_COMPATIBLE_EMBEDDED -> embedded("::", 12);
    };
  }

  /** Neighbours of the rows that stay usable: private, shared and public addresses. */
  private static final List<String> KEPT =
      List.of(
          "10.0.0.1",
          "172.16.0.1",
          "192.168.64.1",
          "100.64.0.1",
          "100.100.100.201",
          "168.63.129.17",
          "1.0.0.0",
          "126.255.255.255",
          "128.0.0.1",
          "169.253.255.255",
          "169.255.0.1",
          "223.255.255.255",
          "255.255.255.254",
          "192.0.2.1",
          "fd00::1",
          "fd00:ec3::254",
          "fd20:ce::253",
          "fd00:c1::a9fe:a9ff",
          "fc00::1",
          "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
          "fe00::1",
          "2001:db8::1",
          "::2:0:0",
          "::1:ffff:c000:201",
          "64:ff9b::c000:201",
          "64:ff9b:1::7f00:1",
          "2002:c000:201::1",
          "::c000:201");

  @ParameterizedTest
  @EnumSource(UnusableAddress.class)
  void eachRow_dropsItsAddresses_inEveryFamilyItCovers(UnusableAddress row) {
    List<byte[]> samples = new ArrayList<>();
    dropped(row).forEach(text -> samples.add(IpAddresses.parse(text).getAddress()));
    if (row == UnusableAddress.IPV4_MAPPED) {
      samples.addAll(List.of(mapped(192, 0, 2, 1), mapped(127, 0, 0, 1), mapped(0, 0, 0, 0)));
    }
    assertFalse(samples.isEmpty(), row + " has no samples");
    Set<Integer> families = new HashSet<>();
    for (byte[] sample : samples) {
      String shown = IpAddresses.format(IpAddresses.fromBytes(sample)) + " (" + row + ")";
      assertEquals(Optional.of(row), UnusableAddress.classify(sample), shown);
      families.add(sample.length);
    }
    boolean bothFamilies =
        row.ranges().stream().anyMatch(r -> r.contains(":"))
            && row.ranges().stream().anyMatch(r -> !r.contains(":"));
    assertEquals(bothFamilies ? Set.of(4, 16) : families, families, row + ": both families");
    assertFalse(row.reason().isBlank());
    assertTrue(row.describe().startsWith(row.name() + " ("), row.describe());
  }

  @Test
  void privateSharedAndPublicAddresses_stayUsable() {
    for (String address : KEPT) {
      assertEquals(
          Optional.empty(),
          UnusableAddress.classify(IpAddresses.parse(address).getAddress()),
          address);
    }
  }

  @Test
  void embeddings_carryOnlyTheAddressesTheTableDrops() {
    byte[] nat64Public = IpAddresses.parse("64:ff9b::808:808").getAddress();
    byte[] nat64Metadata = IpAddresses.parse("64:ff9b::a9fe:a9fe").getAddress();
    byte[] sixToFourAzure = IpAddresses.parse("2002:a83f:8110::").getAddress();
    byte[] compatibleAlibaba = IpAddresses.parse("::6464:64c8").getAddress();

    assertEquals(Optional.empty(), UnusableAddress.classify(nat64Public));
    assertEquals(
        Optional.of(UnusableAddress.NAT64_EMBEDDED), UnusableAddress.classify(nat64Metadata));
    assertEquals(
        Optional.of(UnusableAddress.SIX_TO_FOUR_EMBEDDED),
        UnusableAddress.classify(sixToFourAzure));
    assertEquals(
        Optional.of(UnusableAddress.IPV4_COMPATIBLE_EMBEDDED),
        UnusableAddress.classify(compatibleAlibaba));
  }

  @Test
  void classify_refusesWhatIsNotAnAddress() {
    assertThrows(IllegalArgumentException.class, () -> UnusableAddress.classify(new byte[5]));
  }

  /** {@code prefix} with, at byte {@code at}, one sample address of every IPv4 row. */
  private static List<String> embedded(String prefix, int at) {
    List<String> samples = new ArrayList<>();
    for (String ipv4 :
        List.of(
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "169.254.169.254",
            "100.100.100.200",
            "168.63.129.16",
            "224.0.0.251",
            "255.255.255.255")) {
      byte[] bytes = IpAddresses.parse(prefix).getAddress();
      System.arraycopy(IpAddresses.parse(ipv4).getAddress(), 0, bytes, at, 4);
      String sample = IpAddresses.format(IpAddresses.fromBytes(bytes));
      if (!sample.equals("::")) { // carries 0.0.0.0, but is UNSPECIFIED first
        samples.add(sample);
      }
    }
    return samples;
  }

  private static byte[] mapped(int a, int b, int c, int d) {
    byte[] bytes = new byte[16];
    bytes[10] = (byte) 0xff;
    bytes[11] = (byte) 0xff;
    bytes[12] = (byte) a;
    bytes[13] = (byte) b;
    bytes[14] = (byte) c;
    bytes[15] = (byte) d;
    return bytes;
  }
}
