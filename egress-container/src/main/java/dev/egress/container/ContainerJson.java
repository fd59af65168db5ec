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
import org.jspecify.annotations.Nullable;

/**
 * Reads what {@code container inspect} and {@code container ls --format json} print: an array of
 * container snapshots, whose shape changed twice.
 *
 * <ul>
 *   <li>1.x: {@code "status": {"state": "running", "networks": [{"network", "ipv4Address",
 *       "ipv4Gateway", "ipv6Address"}]}}
 *   <li>0.8–0.12: {@code "status": "running"} and a top-level {@code "networks": [{"network",
 *       "ipv4Address", "ipv4Gateway"}]}
 *   <li>0.7 and earlier: {@code "status": "running"} and {@code "networks": [{"network", "address",
 *       "gateway"}]}
 * </ul>
 *
 * <p>In all of them the id and labels sit in {@code "configuration"}. An address that is present
 * but unreadable is an error, never skipped: a launcher must not attach a policy to part of a
 * container's addresses. Thread-safe (the mapper is only read).
 */
final class ContainerJson {
  private final ObjectMapper mapper = new ObjectMapper();

  /**
   * @throws ContainerCliException naming what is malformed and in which container
   */
  List<ContainerInfo> parse(String json) throws ContainerCliException {
    JsonNode root;
    try {
      root = mapper.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ContainerCliException(
          "container CLI printed invalid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || root.isMissingNode()) {
      throw new ContainerCliException("container CLI printed nothing where JSON was expected");
    }
    List<JsonNode> snapshots = new ArrayList<>();
    if (root.isArray()) {
      root.forEach(snapshots::add);
    } else if (root.isObject()) {
      snapshots.add(root);
    } else {
      throw new ContainerCliException(
          "container CLI printed "
              + root.getNodeType()
              + " where an array of containers was expected");
    }
    List<ContainerInfo> containers = new ArrayList<>();
    for (JsonNode snapshot : snapshots) {
      containers.add(container(snapshot));
    }
    return containers;
  }

  private static ContainerInfo container(JsonNode snapshot) throws ContainerCliException {
    JsonNode configuration = snapshot.path("configuration");
    String id = text(configuration.path("id"));
    if (id == null) {
      id = text(snapshot.path("id"));
    }
    if (id == null || id.isEmpty()) {
      throw new ContainerCliException("a container in the CLI's JSON has no configuration.id");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> label : configuration.path("labels").properties()) {
      labels.put(label.getKey(), label.getValue().asText());
    }

    JsonNode status = snapshot.path("status");
    String state;
    JsonNode networks;
    if (status.isObject()) {
      state = text(status.path("state"));
      networks = status.path("networks");
    } else {
      state = text(status);
      networks = snapshot.path("networks");
    }
    List<NetworkAttachment> attachments = new ArrayList<>();
    for (JsonNode network : networks) {
      attachments.add(attachment(id, network));
    }
    return new ContainerInfo(
        id, state == null ? "unknown" : state.toLowerCase(Locale.ROOT), labels, attachments);
  }

  private static NetworkAttachment attachment(String id, JsonNode network)
      throws ContainerCliException {
    String name = text(network.path("network"));
    PrefixedAddress ipv4 = address(id, network, "ipv4Address");
    if (ipv4 == null) {
      ipv4 = address(id, network, "address");
    }
    PrefixedAddress gateway = address(id, network, "ipv4Gateway");
    if (gateway == null) {
      gateway = address(id, network, "gateway");
    }
    PrefixedAddress ipv6 = address(id, network, "ipv6Address");
    InetAddress gatewayAddress = gateway == null ? null : gateway.address();
    return new NetworkAttachment(name == null ? "" : name, ipv4, gatewayAddress, ipv6);
  }

  private static @Nullable PrefixedAddress address(String id, JsonNode network, String field)
      throws ContainerCliException {
    String text = text(network.path(field));
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return PrefixedAddress.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ContainerCliException(
          "container "
              + id
              + " reports "
              + field
              + " '"
              + text
              + "', which is not an address: "
              + e.getMessage(),
          e);
    }
  }

  private static @Nullable String text(JsonNode node) {
    return node.isTextual() ? node.asText() : null;
  }
}
