package dev.egress.container;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.util.Objects;

/**
 * An interface address as the container CLI prints it, {@code 192.168.64.3/24}: the address and the
 * prefix length of its network, both kept.
 *
 * @param address the container's own address
 * @param prefixLength 0-32 for IPv4, 0-128 for IPv6
 */
public record PrefixedAddress(InetAddress address, int prefixLength) {
  public PrefixedAddress {
    Objects.requireNonNull(address, "address");
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
  }

  /**
   * Parses {@code 192.168.64.3/24} or {@code fd00::3/64}; a bare address gets a host prefix.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static PrefixedAddress parse(String text) {
    int slash = text.indexOf('/');
    InetAddress address = IpAddresses.parse(slash < 0 ? text : text.substring(0, slash));
    if (slash < 0) {
      return new PrefixedAddress(address, address.getAddress().length * 8);
    }
    String prefix = text.substring(slash + 1);
    if (prefix.isEmpty() || prefix.length() > 3 || !prefix.chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException("'" + text + "' has no valid prefix length after '/'");
    }
    return new PrefixedAddress(address, Integer.parseInt(prefix));
  }

  /** The network the address sits in: {@code 192.168.64.0/24} for {@code 192.168.64.3/24}. */
  public IpNetwork network() {
    byte[] bytes = address.getAddress();
    for (int bit = prefixLength; bit < bytes.length * 8; bit++) {
      bytes[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
    }
    return new IpNetwork(IpAddresses.fromBytes(bytes), prefixLength);
  }

  @Override
  public String toString() {
    return IpAddresses.format(address) + "/" + prefixLength;
  }
}
