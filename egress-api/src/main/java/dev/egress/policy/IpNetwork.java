package dev.egress.policy;

import java.net.InetAddress;

/**
 * An IPv4 or IPv6 network in CIDR form. The address has no host bits set beyond the prefix, so two
 * equal networks are equal values.
 *
 * @param address the network address
 * @param prefixLength 0-32 for IPv4, 0-128 for IPv6
 */
public record IpNetwork(InetAddress address, int prefixLength) implements Comparable<IpNetwork> {

  /**
   * @throws IllegalArgumentException if the prefix is out of range or host bits are set
   */
  public IpNetwork {
    int bits = address.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException(
          "prefix length /"
              + prefixLength
              + " is out of range 0-"
              + bits
              + " for "
              + IpAddresses.format(address));
    }
    InetAddress masked = mask(address, prefixLength);
    if (!masked.equals(address)) {
      throw new IllegalArgumentException(
          IpAddresses.format(address)
              + "/"
              + prefixLength
              + " has host bits set: did you mean "
              + IpAddresses.format(masked)
              + "/"
              + prefixLength
              + "?");
    }
  }

  /**
   * The network of {@code prefixLength} bits that holds {@code address} (its host bits cleared).
   *
   * @throws IllegalArgumentException if the prefix is out of range for the address's family
   */
  public static IpNetwork containing(InetAddress address, int prefixLength) {
    int bits = address.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException(
          "prefix length /" + prefixLength + " is out of range 0-" + bits);
    }
    return new IpNetwork(mask(address, prefixLength), prefixLength);
  }

  /** The network holding exactly {@code address} (/32 or /128). */
  public static IpNetwork host(InetAddress address) {
    return new IpNetwork(address, address.getAddress().length * 8);
  }

  /**
   * Parses {@code 10.0.0.0/8}, {@code fd00::/8} or a bare address (a single host).
   *
   * @throws IllegalArgumentException saying what is wrong, with a corrected form where one exists
   */
  public static IpNetwork parse(String text) {
    int slash = text.indexOf('/');
    if (slash < 0) {
      return host(IpAddresses.parse(text));
    }
    InetAddress address = IpAddresses.parse(text.substring(0, slash));
    String prefix = text.substring(slash + 1);
    if (prefix.isEmpty()
        || prefix.length() > 3
        || !prefix.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(
          UserText.quote(prefix)
              + " is not a prefix length: expected /0-"
              + address.getAddress().length * 8);
    }
    return new IpNetwork(address, Integer.parseInt(prefix));
  }

  public boolean isIpv6() {
    return IpAddresses.isIpv6(address);
  }

  /** Whether this network is a single address (/32 or /128). */
  public boolean isSingleHost() {
    return prefixLength == address.getAddress().length * 8;
  }

  /** Whether {@code candidate} is in this network; an address of the other family never is. */
  public boolean contains(InetAddress candidate) {
    return candidate.getAddress().length == address.getAddress().length
        && mask(candidate, prefixLength).equals(address);
  }

  private static InetAddress mask(InetAddress address, int prefixLength) {
    byte[] bytes = address.getAddress();
    for (int i = 0; i < bytes.length; i++) {
      int keep = Math.max(0, Math.min(8, prefixLength - 8 * i));
      bytes[i] &= (byte) (0xff << (8 - keep));
    }
    return IpAddresses.fromBytes(bytes);
  }

  @Override
  public int compareTo(IpNetwork other) {
    byte[] a = address.getAddress();
    byte[] b = other.address.getAddress();
    if (a.length != b.length) {
      return Integer.compare(a.length, b.length);
    }
    for (int i = 0; i < a.length; i++) {
      int cmp = Integer.compare(a[i] & 0xff, b[i] & 0xff);
      if (cmp != 0) {
        return cmp;
      }
    }
    return Integer.compare(prefixLength, other.prefixLength);
  }

  /** {@code 10.0.0.0/8}, or the bare address for a single host. */
  @Override
  public String toString() {
    return isSingleHost()
        ? IpAddresses.format(address)
        : IpAddresses.format(address) + "/" + prefixLength;
  }
}
