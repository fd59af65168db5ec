package dev.egress.container;

import java.net.InetAddress;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One network a container is attached to, as {@code container inspect} reports it.
 *
 * @param network the network's name ({@code default} unless the container was run with {@code
 *     --network}); empty when the CLI did not say
 * @param ipv4 the container's IPv4 address with its prefix length, or null when not yet assigned
 * @param ipv4Gateway the IPv4 gateway, or null when not reported
 * @param ipv6 the container's IPv6 address with its prefix length, or null when none
 */
public record NetworkAttachment(
    String network,
    @Nullable PrefixedAddress ipv4,
    @Nullable InetAddress ipv4Gateway,
    @Nullable PrefixedAddress ipv6) {
  public NetworkAttachment {
    Objects.requireNonNull(network, "network");
  }
}
