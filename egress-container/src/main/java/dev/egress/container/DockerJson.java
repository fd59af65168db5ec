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
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * Reads what the Docker Engine API answers about containers, networks and execs. A container's id
 * is its name ({@code "Name": "/agent-1"} without the slash), as the launcher names them. Its
 * addresses are those of {@code NetworkSettings.Networks.*}, or, for a created container that has
 * not started and so has none yet, the ones it was created with ({@code IPAMConfig}). An address
 * that is present but unreadable is an error, never skipped. Thread-safe (the mapper is only read).
 */
final class DockerJson {
  private final ObjectMapper mapper = new ObjectMapper();

  /** A container as {@code GET /containers/ID/json} reports it. */
  ContainerInfo container(String json) throws ContainerCliException {
    return container(object(json));
  }

  /** The subnets and bridge name of a network as {@code GET /networks/NAME} reports it. */
  record Network(List<String> subnets, List<String> gateways, @Nullable String bridge) {}

  Network network(String json) throws ContainerCliException {
    JsonNode network = object(json);
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
    return new Network(subnets, gateways, bridge);
  }

  /** The ids in a {@code GET /containers/json} listing. */
  List<String> ids(String json) throws ContainerCliException {
    List<String> ids = new ArrayList<>();
    for (JsonNode container : array(json)) {
      ids.add(required(container, "Id"));
    }
    return ids;
  }

  /** The values of {@code label} in a {@code GET /containers/json} listing, where it is set. */
  List<String> labelValues(String json, String label) throws ContainerCliException {
    List<String> values = new ArrayList<>();
    for (JsonNode container : array(json)) {
      String value = text(container.path("Labels").path(label));
      if (value != null) {
        values.add(value);
      }
    }
    return values;
  }

  /** The {@code Id} of a creation's answer ({@code POST /containers/ID/exec}). */
  String id(String json) throws ContainerCliException {
    return required(object(json), "Id");
  }

  /** The {@code ExitCode} of an exec ({@code GET /exec/ID/json}), or empty while it runs. */
  OptionalInt exitCode(String json) throws ContainerCliException {
    JsonNode exec = object(json);
    if (exec.path("Running").asBoolean(true)) {
      return OptionalInt.empty();
    }
    if (!exec.path("ExitCode").isInt()) {
      throw new ContainerCliException("an exec that ended reports no exit code: " + json.strip());
    }
    return OptionalInt.of(exec.path("ExitCode").asInt());
  }

  /** The daemon's error {@code {"message": ...}}, or the body as it is. */
  String message(String json) {
    try {
      JsonNode message = mapper.readTree(json).path("message");
      return message.isTextual() ? message.asText() : json.strip();
    } catch (JsonProcessingException e) {
      return json.strip();
    }
  }

  private JsonNode object(String json) throws ContainerCliException {
    JsonNode root = tree(json);
    if (!root.isObject()) {
      throw new ContainerCliException(
          "docker answered " + root.getNodeType() + " where an object was expected");
    }
    return root;
  }

  private List<JsonNode> array(String json) throws ContainerCliException {
    JsonNode root = tree(json);
    if (!root.isArray()) {
      throw new ContainerCliException(
          "docker answered " + root.getNodeType() + " where an array was expected");
    }
    List<JsonNode> items = new ArrayList<>();
    root.forEach(items::add);
    return items;
  }

  private JsonNode tree(String json) throws ContainerCliException {
    try {
      JsonNode root = mapper.readTree(json);
      if (root == null || root.isMissingNode()) {
        throw new ContainerCliException("docker answered nothing where JSON was expected");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new ContainerCliException("docker answered invalid JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static String required(JsonNode node, String field) throws ContainerCliException {
    String value = text(node.path(field));
    if (value == null || value.isEmpty()) {
      throw new ContainerCliException("docker's answer has no " + field);
    }
    return value;
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
