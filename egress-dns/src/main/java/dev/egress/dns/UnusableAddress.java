package dev.egress.dns;

import dev.egress.policy.IpAddresses;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The table of addresses a resolver never publishes for a name, whatever an answer says: one
 * constant per row, each with its ranges and the reason. A name an attacker controls (or a
 * rebinding answer for an allowed one) could otherwise point a container's allowed destination at
 * the host, its link or the cloud's metadata service. A name answered only with such addresses
 * resolves to nothing; each dropped address is logged.
 *
 * <p>Rows are tried in declaration order and the first that matches is the reason given. The last
 * three rows are the IPv6 forms that carry an IPv4 address (NAT64, 6to4, IPv4-compatible): they
 * match when the carried address matches one of the IPv4 rows. Private ranges (10.0.0.0/8,
 * 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7) are not in the table: internal services
 * are legitimate destinations, and only the cloud metadata addresses inside them are dropped. Not
 * covered: NAT64 prefixes other than the well-known one (a network-specific or {@code
 * 64:ff9b:1::/48} prefix places the IPv4 address where its operator chose) and Teredo ({@code
 * 2001::/32}, whose carried address is obfuscated).
 *
 * <p>Immutable and thread-safe.
 */
public enum UnusableAddress {
  /** {@code 0.0.0.0}, {@code ::}. */
  UNSPECIFIED(
      "the unspecified address: a connecting socket takes it as this host", "0.0.0.0/32", "::/128"),
  /** {@code 0.0.0.0/8}. */
  THIS_NETWORK(
      "'this network' (RFC 1122): never a remote destination; stacks that accept it deliver to"
          + " the host itself",
      "0.0.0.0/8"),
  /** {@code 127.0.0.0/8}, {@code ::1}. */
  LOOPBACK("loopback: the host itself and every service it binds there", "127.0.0.0/8", "::1/128"),
  /** {@code 169.254.0.0/16}, {@code fe80::/10}. */
  LINK_LOCAL(
      "link-local: the host's bridge and the cloud metadata services (169.254.169.254 on AWS,"
          + " Google Cloud, Azure, Oracle Cloud and others; AWS ECS 169.254.170.2, EKS Pod"
          + " Identity 169.254.170.23; OpenStack fe80::a9fe:a9fe)",
      "169.254.0.0/16",
      "fe80::/10"),
  /** The metadata and platform addresses of major clouds outside the link-local ranges. */
  CLOUD_METADATA(
      "cloud metadata and platform services outside link-local: Alibaba Cloud 100.100.100.200"
          + " and fd00:100::100:200, Azure's WireServer 168.63.129.16, AWS's instance services"
          + " fd00:ec2::/32 (metadata ::254, DNS ::253, time ::123, EKS Pod Identity ::23),"
          + " Google Cloud fd20:ce::254, Oracle Cloud fd00:c1::a9fe:a9fe",
      "100.100.100.200/32",
      "168.63.129.16/32",
      "fd00:ec2::/32",
      "fd20:ce::254/128",
      "fd00:c1::a9fe:a9fe/128",
      "fd00:100::100:200/128"),
  /** {@code 224.0.0.0/4}, {@code ff00::/8}. */
  MULTICAST(
      "multicast: a group on the host's links, not one destination", "224.0.0.0/4", "ff00::/8"),
  /** {@code 255.255.255.255}. */
  BROADCAST("limited broadcast: every host on the link", "255.255.255.255/32"),
  /** {@code fec0::/10}. */
  SITE_LOCAL(
      "site-local (deprecated by RFC 3879): still routed inside sites by some stacks, never a"
          + " public destination",
      "fec0::/10"),
  /** {@code ::ffff:0:0/96}, whatever the IPv4 address. */
  IPV4_MAPPED(
      "IPv4-mapped: a dual-stack socket connects to the IPv4 address inside, so an AAAA answer"
          + " would open IPv4 that the policy's IPv6 rules do not cover",
      "::ffff:0:0/96"),
  /** {@code 64:ff9b::/96} carrying an address of an IPv4 row. */
  NAT64_EMBEDDED(
      "NAT64 (RFC 6052 well-known prefix) of an address this table drops: a translator forwards"
          + " it to the IPv4 address in the last 32 bits",
      12,
      "64:ff9b::/96"),
  /** {@code 2002::/16} carrying an address of an IPv4 row. */
  SIX_TO_FOUR_EMBEDDED(
      "6to4 (RFC 3056) of an address this table drops: a relay tunnels it to the IPv4 address in"
          + " bits 16-47",
      2,
      "2002::/16"),
  /** {@code ::/96} carrying an address of an IPv4 row. */
  IPV4_COMPATIBLE_EMBEDDED(
      "IPv4-compatible (deprecated by RFC 4291) of an address this table drops: some stacks"
          + " still tunnel it to the IPv4 address in the last 32 bits",
      12,
      "::/96");

  private final String reason;
  private final List<String> ranges;
  private final List<Prefix> prefixes;
  private final OptionalInt carriedIpv4At;

  UnusableAddress(String reason, String... ranges) {
    this(reason, OptionalInt.empty(), ranges);
  }

  UnusableAddress(String reason, int carriedIpv4At, String range) {
    this(reason, OptionalInt.of(carriedIpv4At), range);
  }

  UnusableAddress(String reason, OptionalInt carriedIpv4At, String... ranges) {
    this.reason = reason;
    this.ranges = List.of(ranges);
    this.prefixes = Arrays.stream(ranges).map(Prefix::parse).toList();
    this.carriedIpv4At = carriedIpv4At;
  }

  /**
   * The row that drops {@code address}, if any.
   *
   * @param address the raw 4 (IPv4) or 16 (IPv6) bytes, as an A or AAAA record carries them. Pass
   *     raw bytes rather than an {@link java.net.InetAddress}: Java turns an IPv4-mapped IPv6
   *     address into an IPv4 one, which would hide the {@link #IPV4_MAPPED} row.
   * @return the first row that matches; empty when the address may be published
   * @throws IllegalArgumentException if {@code address} has neither 4 nor 16 bytes
   */
  public static Optional<UnusableAddress> classify(byte[] address) {
    if (address.length != 4 && address.length != 16) {
      throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + address.length);
    }
    for (UnusableAddress row : values()) {
      if (row.matches(address)) {
        return Optional.of(row);
      }
    }
    return Optional.empty();
  }

  /** Why addresses of this row are never published. */
  public String reason() {
    return reason;
  }

  /**
   * The row's ranges in CIDR form ({@code 127.0.0.0/8}, {@code ::1/128}). For the rows that carry
   * an IPv4 address, an address in the range matches only when the carried address does.
   */
  public List<String> ranges() {
    return ranges;
  }

  /** The row, its ranges and its reason, for logs: {@code LOOPBACK (127.0.0.0/8, ::1/128): ...}. */
  public String describe() {
    return name() + " (" + String.join(", ", ranges) + "): " + reason;
  }

  private boolean matches(byte[] address) {
    boolean inRange = prefixes.stream().anyMatch(prefix -> prefix.contains(address));
    if (!inRange || carriedIpv4At.isEmpty()) {
      return inRange;
    }
    int at = carriedIpv4At.getAsInt();
    byte[] carried = Arrays.copyOfRange(address, at, at + 4);
    return classify(carried).isPresent();
  }

  /** A range as raw bytes and a prefix length; compared byte-wise, never through InetAddress. */
  private static final class Prefix {
    private final byte[] bytes;
    private final int length;

    private Prefix(byte[] bytes, int length) {
      this.bytes = bytes;
      this.length = length;
    }

    static Prefix parse(String cidr) {
      int slash = cidr.indexOf('/');
      String literal = cidr.substring(0, slash);
      int length = Integer.parseInt(cidr.substring(slash + 1));
      // IpAddresses refuses the one IPv4-mapped literal, and Java would make it IPv4: spelled out.
      byte[] bytes =
          literal.equals("::ffff:0:0") ? mappedPrefix() : IpAddresses.parse(literal).getAddress();
      if (length < 0 || length > bytes.length * 8) {
        throw new IllegalArgumentException("prefix length out of range in " + cidr);
      }
      return new Prefix(bytes, length);
    }

    private static byte[] mappedPrefix() {
      byte[] bytes = new byte[16];
      bytes[10] = (byte) 0xff;
      bytes[11] = (byte) 0xff;
      return bytes;
    }

    boolean contains(byte[] address) {
      if (address.length != bytes.length) {
        return false;
      }
      for (int bit = 0; bit < length; bit += 8) {
        int mask = (0xff << (8 - Math.min(8, length - bit))) & 0xff;
        if ((address[bit / 8] & mask) != (bytes[bit / 8] & mask)) {
          return false;
        }
      }
      return true;
    }
  }
}
