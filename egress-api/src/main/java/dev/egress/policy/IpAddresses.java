package dev.egress.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Strict IP address literals: parsing never consults DNS, and formatting is canonical (dotted quad
 * for IPv4, RFC 5952 for IPv6), so that policy files, pf and nftables rules all read alike.
 */
public final class IpAddresses {
  private IpAddresses() {}

  /**
   * Parses a dotted-quad IPv4 or an IPv6 literal. Rejects shorthand IPv4 forms ({@code 10.1}),
   * leading zeros (octal ambiguity), zone ids ({@code %en0}) and IPv4-mapped IPv6 addresses ({@code
   * ::ffff:1.2.3.4}, which would silently change family).
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static InetAddress parse(String text) {
    if (text.indexOf(':') >= 0) {
      return parseIpv6(text);
    }
    return parseIpv4(text);
  }

  /** Whether {@code text} looks like an address literal (digits and dots, or contains ':'). */
  public static boolean looksLikeAddress(String text) {
    return !text.isEmpty()
        && (text.indexOf(':') >= 0
            || text.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9')));
  }

  private static InetAddress parseIpv4(String text) {
    String[] parts = text.split("\\.", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          UserText.quote(text)
              + " is not an IPv4 address: expected four numbers 0-255"
              + " separated by dots");
    }
    byte[] bytes = new byte[4];
    for (int i = 0; i < 4; i++) {
      String part = parts[i];
      if (part.isEmpty()
          || part.length() > 3
          || !part.chars().allMatch(c -> c >= '0' && c <= '9')
          || (part.length() > 1 && part.charAt(0) == '0')
          || Integer.parseInt(part) > 255) {
        throw new IllegalArgumentException(
            UserText.quote(text)
                + " is not an IPv4 address: part "
                + (i + 1)
                + " ("
                + UserText.quote(part)
                + ") must be a number 0-255 without leading zeros");
      }
      bytes[i] = (byte) Integer.parseInt(part);
    }
    return fromBytes(bytes);
  }

  private static InetAddress parseIpv6(String text) {
    boolean literalChars =
        text.chars()
            .allMatch(
                c ->
                    c == ':'
                        || c == '.'
                        || (c >= '0' && c <= '9')
                        || (c >= 'a' && c <= 'f')
                        || (c >= 'A' && c <= 'F'));
    if (!literalChars || text.length() > 45) {
      throw new IllegalArgumentException(
          UserText.quote(text)
              + " is not an IPv6 address: only hex digits, ':' and '.'"
              + " may appear (no brackets, no zone id)");
    }
    // The JDK treats text as a literal only when it starts with a hex digit or ':'; it would look
    // anything else (".::1") up in DNS.
    if (text.charAt(0) != ':' && Character.digit(text.charAt(0), 16) < 0) {
      throw new IllegalArgumentException(
          UserText.quote(text) + " is not an IPv6 address: it must start with a hex digit or ':'");
    }
    InetAddress address;
    try {
      // Starting with a hex digit or ':' and holding a ':', the text is parsed as an IPv6 literal
      // by the JDK (or rejected), never looked up in DNS.
      address = InetAddress.getByName(text);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(UserText.quote(text) + " is not an IPv6 address", e);
    }
    if (address instanceof Inet4Address) {
      throw new IllegalArgumentException(
          UserText.quote(text)
              + " is an IPv4-mapped IPv6 address: write the IPv4 address "
              + address.getHostAddress()
              + " instead");
    }
    return address;
  }

  /** An address from its 4 or 16 raw bytes. */
  public static InetAddress fromBytes(byte[] bytes) {
    if (bytes.length != 4 && bytes.length != 16) {
      throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + bytes.length);
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("length was checked", e);
    }
  }

  /** Dotted quad for IPv4; RFC 5952 (lower case, longest zero run as {@code ::}) for IPv6. */
  public static String format(InetAddress address) {
    if (address instanceof Inet6Address) {
      return formatIpv6(address.getAddress());
    }
    return address.getHostAddress();
  }

  /** Whether the address is IPv6. */
  public static boolean isIpv6(InetAddress address) {
    return address instanceof Inet6Address;
  }

  private static String formatIpv6(byte[] bytes) {
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLength = 1;
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLength - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(groups[i]));
    }
    return out.toString();
  }
}
