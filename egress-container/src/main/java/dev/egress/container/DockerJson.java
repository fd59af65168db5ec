package dev.egress.container;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Reads what {@code docker inspect} prints for containers and networks. A container's id is its
 * name ({@code "Name": "/agent-1"} without the slash), as the launcher names them. Its addresses
 * are those of {@code NetworkSettings.Networks.*}, or, for a created container that has not started
 * and so has none yet, the ones it was created with ({@code IPAMConfig}). An address that is
 * present but unreadable is an error, never skipped. Thread-safe (the mapper is only read).
 */
final class DockerJson {
  private final ObjectMapper mapper = new ObjectMapper();

  /** The containers of a {@code docker inspect --type container} array. */
  List<ContainerInfo> containers(String json) throws ContainerCliException {
    List<ContainerInfo> result = new ArrayList<>();
    for (JsonNode container : array(json)) {
      result.add(container(container));
    }
    return result;
  }

  /** The subnets and bridge name of a {@code docker network inspect} array of one network. */
  record Network(List<String> subnets, List<String> gateways, @Nullable String bridge) {}

  Optional<Network> network(String json) throws ContainerCliException {
    List<JsonNode> networks = array(json);
    if (networks.isEmpty()) {
      return Optional.empty();
    }
    JsonNode network = networks.get(0);
    List<String> subnets = new ArrayList<>();
    List<String> gateways = new ArrayList<>();
    for (JsonNode config : network.path("IPAM").path("Config")) {
      String subnet = text(config.path("Subnet"));
      if (subnet != null) {
        subnets.add(subnet);
      }
      String gateway = text(config.path("Gateway"));
      if (gateway != null) {
        gateways.add(gateway);
      }
    }
    String bridge = text(network.path("Options").path("com.docker.network.bridge.name"));
    return Optional.of(new Network(subnets, gateways, bridge));
  }

  private List<JsonNode> array(String json) throws ContainerCliException {
    JsonNode root;
    try {
      root = mapper.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ContainerCliException("docker printed invalid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || root.isMissingNode()) {
      return List.of();
    }
    if (!root.isArray()) {
      throw new ContainerCliException(
          "docker printed " + root.getNodeType() + " where an array was expected");
    }
    List<JsonNode> items = new ArrayList<>();
    root.forEach(items::add);
    return items;
  }

  private static ContainerInfo container(JsonNode container) throws ContainerCliException {
    String name = text(container.path("Name"));
    if (name == null || name.length() < 2) {
      throw new ContainerCliException("a container in docker's JSON has no Name");
    }
    String id = name.startsWith("/") ? name.substring(1) : name;
    String state = text(container.path("State").path("Status"));
    Map<String, String> labels = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> label : container.path("Config").path("Labels").properties()) {
      labels.put(label.getKey(), label.getValue().asText());
    }
    List<NetworkAttachment> attachments = new ArrayList<>();
    for (Map.Entry<String, JsonNode> network :
        container.path("NetworkSettings").path("Networks").properties()) {
      attachments.add(attachment(id, network.getKey(), network.getValue()));
    }
    return new ContainerInfo(
        id, state == null ? "unknown" : state.toLowerCase(Locale.ROOT), labels, attachments);
  }

  private static NetworkAttachment attachment(String id, String name, JsonNode network)
      throws ContainerCliException {
    JsonNode pinned = network.path("IPAMConfig");
    PrefixedAddress ipv4 =
        address(id, text(network.path("IPAddress")), network.path("IPPrefixLen").asInt());
    if (ipv4 == null) {
      ipv4 = address(id, text(pinned.path("IPv4Address")), 32);
    }
    PrefixedAddress ipv6 =
        address(
            id,
            text(network.path("GlobalIPv6Address")),
            network.path("GlobalIPv6PrefixLen").asInt());
    if (ipv6 == null) {
      ipv6 = address(id, text(pinned.path("IPv6Address")), 128);
    }
    PrefixedAddress gateway = address(id, text(network.path("Gateway")), 32);
    InetAddress gatewayAddress = gateway == null ? null : gateway.address();
    return new NetworkAttachment(name, ipv4, gatewayAddress, ipv6);
  }

  private static @Nullable PrefixedAddress address(String id, @Nullable String text, int prefix)
      throws ContainerCliException {
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return PrefixedAddress.parse(prefix > 0 ? text + "/" + prefix : text);
    } catch (IllegalArgumentException e) {
      throw new ContainerCliException(
          "container " + id + " reports the address '" + text + "': " + e.getMessage(), e);
    }
  }

  private static @Nullable String text(JsonNode node) {
    return node.isTextual() ? node.asText() : null;
  }
}
