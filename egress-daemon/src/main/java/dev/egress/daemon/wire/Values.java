package dev.egress.daemon.wire;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The protocol's values in both directions: a container ({@code {"id", "addresses", "gateway"?}})
 * read into a validated {@link ContainerEndpoint} or written from one, and container ids.
 */
public final class Values {
  /** The most addresses one container may have. */
  public static final int MAX_ADDRESSES = 16;

  private Values() {}

  /**
   * A container: {@code {"id": ..., "addresses": [...], "gateway"?: ...}}.
   *
   * @throws RequestException invalid-request naming the field at fault
   */
  public static ContainerEndpoint container(Args container) throws RequestException {
    container.only(Set.of("id", "addresses", "gateway"));
    ContainerId id = containerId(container, "id");
    List<InetAddress> addresses = new ArrayList<>();
    for (String text : container.strings("addresses", MAX_ADDRESSES)) {
      addresses.add(address(text, container.pathOf("addresses")));
    }
    String gatewayText = container.optionalString("gateway");
    @Nullable InetAddress gateway =
        gatewayText == null ? null : address(gatewayText, container.pathOf("gateway"));
    try {
      return new ContainerEndpoint(id, addresses, gateway);
    } catch (IllegalArgumentException e) {
      throw RequestException.invalidField(
          container.pathOf("addresses"), String.valueOf(e.getMessage()));
    }
  }

  /** A container as {@link #container} reads it; addresses canonical, IPv4 first. */
  public static ObjectNode json(ContainerEndpoint container) {
    ObjectNode json = Json.object();
    json.put("id", container.id().value());
    ArrayNode addresses = json.putArray("addresses");
    container.addresses().forEach(address -> addresses.add(IpAddresses.format(address)));
    InetAddress gateway = container.gateway();
    if (gateway != null) {
      json.put("gateway", IpAddresses.format(gateway));
    }
    return json;
  }

  /**
   * The container id in string field {@code field}.
   *
   * @throws RequestException if it is missing, not a string or not a valid id
   */
  public static ContainerId containerId(Args args, String field) throws RequestException {
    return containerId(args.string(field), args.pathOf(field));
  }

  /**
   * The container id {@code text}, found in {@code field}.
   *
   * @throws RequestException if it is not a valid id
   */
  public static ContainerId containerId(String text, String field) throws RequestException {
    try {
      return ContainerId.of(text);
    } catch (IllegalArgumentException e) {
      throw RequestException.invalidField(field, String.valueOf(e.getMessage()));
    }
  }

  private static InetAddress address(String text, String field) throws RequestException {
    try {
      return IpAddresses.parse(text);
    } catch (IllegalArgumentException e) {
      throw RequestException.invalidField(field, String.valueOf(e.getMessage()));
    }
  }
}
