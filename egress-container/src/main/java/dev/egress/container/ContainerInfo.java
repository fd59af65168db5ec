package dev.egress.container;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What the container CLI knows about one container.
 *
 * @param id the container's id (its {@code --name} when one was given)
 * @param state {@code running}, {@code stopped}, {@code stopping}, … as the CLI prints it, lower
 *     case; {@code unknown} when absent
 * @param labels the container's labels
 * @param networks its network attachments, in the CLI's order
 */
public record ContainerInfo(
    String id, String state, Map<String, String> labels, List<NetworkAttachment> networks) {
  public ContainerInfo {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(state, "state");
    labels = Map.copyOf(labels);
    networks = List.copyOf(networks);
  }

  public boolean isRunning() {
    return state.equals("running");
  }

  /** Every address the container can send from: the IPv4 addresses first, then IPv6. */
  public List<InetAddress> addresses() {
    List<InetAddress> result = new ArrayList<>();
    for (NetworkAttachment network : networks) {
      PrefixedAddress ipv4 = network.ipv4();
      if (ipv4 != null) {
        result.add(ipv4.address());
      }
    }
    for (NetworkAttachment network : networks) {
      PrefixedAddress ipv6 = network.ipv6();
      if (ipv6 != null) {
        result.add(ipv6.address());
      }
    }
    return result.stream().distinct().toList();
  }

  /** The gateway of the first network that reports one. */
  public Optional<InetAddress> gateway() {
    for (NetworkAttachment network : networks) {
      InetAddress gateway = network.ipv4Gateway();
      if (gateway != null) {
        return Optional.of(gateway);
      }
    }
    return Optional.empty();
  }
}
