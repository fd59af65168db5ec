package dev.egress.nftables;

import dev.egress.policy.IpNetwork;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What the table's guard closes: traffic arriving on {@code interfaces} (a container bridge such as
 * {@code docker0}, or {@code br-*}) or sent from {@code networks} that belongs to no attached
 * container is rejected, on the forward and the input path. Containers that are started but not yet
 * attached, and containers that change their own source address, so reach nothing.
 *
 * <p>Only name interfaces and networks that managed containers alone use: anything else behind them
 * loses its network too.
 *
 * @param interfaces interface names (1-15 characters of letters, digits, {@code _ . -}, optionally
 *     ending in {@code *} as a wildcard)
 * @param networks source networks, IPv4 and IPv6
 * @param logDenied whether guard rejections are logged with the prefix {@code "egress guard: "}
 */
public record NftGuard(List<String> interfaces, List<IpNetwork> networks, boolean logDenied) {
  private static final Pattern INTERFACE =
      Pattern.compile("[A-Za-z0-9_.-]{1,15}|[A-Za-z0-9_.-]{1,14}\\*");

  public NftGuard {
    interfaces = List.copyOf(interfaces);
    networks = List.copyOf(networks);
    for (String name : interfaces) {
      if (!INTERFACE.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "'"
                + name
                + "' is not an interface name: 1-15 letters, digits, '_', '.', '-',"
                + " optionally ending in '*'");
      }
    }
    for (IpNetwork network : networks) {
      Objects.requireNonNull(network, "networks");
    }
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
