package dev.egress.nftables;

import dev.egress.policy.IpNetwork;
import dev.egress.policy.UserText;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What the table's guard closes: traffic arriving on {@code interfaces} (a container bridge such as
 * {@code docker0}, or {@code br-*}) or sent from {@code networks} that belongs to no attached
 * container is rejected, on the forward and the input path. Containers that are started but not yet
 * attached, and containers that change their own source address, so reach nothing.
 *
 * <p>Only name interfaces and networks that managed containers alone use: anything else behind them
 * loses its network too. Refused, because they would cut the host off: {@code lo} (or a wildcard
 * that matches it), which carries only the host's own traffic and is accepted before the guard
 * anyway; and networks that alone or together cover a whole address family ({@code 0.0.0.0/0},
 * {@code ::/1} with {@code 8000::/1}), which would reject every packet on the input path that no
 * container sent, replies to the host's own connections included.
 *
 * @param interfaces interface names (1-15 characters of letters, digits, {@code _ . -}, optionally
 *     ending in {@code *} as a wildcard)
 * @param networks source networks, IPv4 and IPv6
 * @param logDenied whether guard rejections are logged with the prefix {@code "egress guard: "}
 */
public record NftGuard(List<String> interfaces, List<IpNetwork> networks, boolean logDenied) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
  private static final Pattern INTERFACE =
      Pattern.compile("[A-Za-z0-9_.-]{1,15}|[A-Za-z0-9_.-]{1,14}\\*");

  /**
   * @throws IllegalArgumentException for an interface name that is not one, for {@code lo}, and for
   *     networks that cover a whole family (see the class comment)
   */
  public NftGuard {
    interfaces = List.copyOf(interfaces);
    networks = List.copyOf(networks);
    for (String name : interfaces) {
      if (!INTERFACE.matcher(name).matches()) {
        throw new IllegalArgumentException(
            UserText.quote(name)
                + " is not an interface name: 1-15 letters, digits, '_', '.', '-',"
                + " optionally ending in '*'");
      }
      if (name.equals("lo")
          || (name.endsWith("*") && "lo".startsWith(name.substring(0, name.length() - 1)))) {
        throw new IllegalArgumentException(
            "a guard on '"
                + name
                + "' would close lo, which carries only the host's own traffic (the host reaching"
                + " its own addresses) and which the enforcer accepts before any guard: name the"
                + " containers' bridge instead (docker0, br-*)");
      }
    }
    for (IpNetwork network : networks) {
      Objects.requireNonNull(network, "networks");
    }
    for (boolean ipv6 : new boolean[] {false, true}) {
      List<IpNetwork> family = networks.stream().filter(n -> n.isIpv6() == ipv6).toList();
      if (coversFamily(family, ipv6 ? 128 : 32)) {
        throw new IllegalArgumentException(
            "the guard networks "
                + family.stream().map(IpNetwork::toString).collect(Collectors.joining(", "))
                + " cover every "
                + (ipv6 ? "IPv6" : "IPv4")
                + " address: the guard would reject every packet the host receives that no"
                + " attached container sent, replies to the host's own connections included."
                + " Name the networks the containers use (172.17.0.0/16, fd00:17::/64)");
      }
    }
  }

  /** Whether {@code networks} of one family together hold every address of it. */
  private static boolean coversFamily(List<IpNetwork> networks, int bits) {
    List<BigInteger[]> spans = new ArrayList<>();
    for (IpNetwork network : networks) {
      BigInteger start = new BigInteger(1, network.address().getAddress());
      spans.add(
          new BigInteger[] {
            start, start.add(BigInteger.ONE.shiftLeft(bits - network.prefixLength()))
          });
    }
    spans.sort(Comparator.comparing((BigInteger[] span) -> span[0]));
    BigInteger covered = BigInteger.ZERO;
    for (BigInteger[] span : spans) {
      if (span[0].compareTo(covered) > 0) {
        return false;
      }
      covered = covered.max(span[1]);
    }
    return covered.equals(BigInteger.ONE.shiftLeft(bits));
  }

  /** Whether {@code name} is a plain interface name (no wildcard) that nft rules can quote. */
  static boolean isInterfaceName(String name) {
    return NAME.matcher(name).matches();
  }

  /** No guard: unattached containers keep whatever the host gives them. */
  public static NftGuard none() {
    return new NftGuard(List.of(), List.of(), false);
  }

  /** Whether the guard closes anything. */
  public boolean isEnabled() {
    return !interfaces.isEmpty() || !networks.isEmpty();
  }
}
