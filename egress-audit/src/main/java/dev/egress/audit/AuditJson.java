package dev.egress.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The JSON form of {@link AuditRecord}s: one object per line, fields as {@code
 * audit-record.schema.json} (a resource beside this class, and {@code docs/} in the repository)
 * defines them. Absent values are left out, never written as null. Stateless and thread-safe.
 */
public final class AuditJson {
  /** The version of the record format; a reader refuses records of another version. */
  public static final int SCHEMA_VERSION = 1;

  /** The schema's resource name, relative to this class. */
  public static final String SCHEMA_RESOURCE = "audit-record.schema.json";

  /** The longest line {@link #read} accepts; written records are far shorter. */
  public static final int MAX_LINE_LENGTH = 4096;

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private AuditJson() {}

  /** {@code record} as one line of JSON, without the line break. */
  public static String write(AuditRecord record) {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("version", SCHEMA_VERSION);
    if (record instanceof AuditRecord.Refused refused) {
      RefusedPacket packet = refused.packet();
      node.put("kind", "refused");
      node.put("time", packet.time().toString());
      putContainer(node, refused.container());
      node.put("source", IpAddresses.format(packet.source()));
      node.put("destination", IpAddresses.format(packet.destination()));
      if (packet.destinationPort() != null) {
        node.put("port", packet.destinationPort());
      }
      node.put("protocol", packet.protocol().wireName());
      node.put("verdict", "refused");
      node.put("reason", refused.reason().wireName());
      if (refused.policy() != null) {
        node.put("policy", refused.policy());
      }
      if (refused.host() != null) {
        node.put("host", refused.host().ascii());
      }
    } else if (record instanceof AuditRecord.Dropped dropped) {
      node.put("kind", "dropped");
      node.put("time", dropped.time().toString());
      putContainer(node, dropped.container());
      node.put("cause", dropped.cause().wireName());
      node.put("count", dropped.count());
      node.put("since", dropped.since().toString());
    }
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree of strings and numbers did not print", e);
    }
  }

  /**
   * The record {@code line} holds.
   *
   * @throws IllegalArgumentException if it is not a record of {@link #SCHEMA_VERSION}, saying why
   */
  public static AuditRecord read(String line) {
    if (line.length() > MAX_LINE_LENGTH) {
      throw new IllegalArgumentException(
          "the line has " + line.length() + " characters, more than " + MAX_LINE_LENGTH);
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(line);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    if (!node.path("version").isInt() || node.get("version").intValue() != SCHEMA_VERSION) {
      throw new IllegalArgumentException(
          "not a record of version " + SCHEMA_VERSION + ": " + node.path("version"));
    }
    try {
      String kind = text(node, "kind");
      @Nullable ContainerId container =
          node.has("container") ? ContainerId.of(text(node, "container")) : null;
      Instant time = Instant.parse(text(node, "time"));
      return switch (kind) {
        case "refused" -> refused(node, time, container);
        case "dropped" ->
            new AuditRecord.Dropped(
                time,
                container,
                Arrays.stream(AuditRecord.DropCause.values())
                    .filter(c -> c.wireName().equals(text(node, "cause")))
                    .findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown cause")),
                number(node, "count"),
                Instant.parse(text(node, "since")));
        default -> throw new IllegalArgumentException("unknown kind");
      };
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("a time is not an ISO-8601 instant", e);
    }
  }

  private static AuditRecord.Refused refused(
      JsonNode node, Instant time, @Nullable ContainerId container) {
    PacketProtocol protocol =
        PacketProtocol.ofWireName(text(node, "protocol"))
            .orElseThrow(() -> new IllegalArgumentException("unknown protocol"));
    RefusedPacket packet =
        new RefusedPacket(
            time,
            IpAddresses.parse(text(node, "source")),
            IpAddresses.parse(text(node, "destination")),
            protocol,
            node.has("port") ? Math.toIntExact(number(node, "port")) : null);
    if (!text(node, "verdict").equals("refused")) {
      throw new IllegalArgumentException("unknown verdict");
    }
    return new AuditRecord.Refused(
        packet,
        container,
        Reason.ofWireName(text(node, "reason"))
            .orElseThrow(() -> new IllegalArgumentException("unknown reason")),
        node.has("policy") ? text(node, "policy") : null,
        node.has("host") ? HostName.of(text(node, "host")) : null);
  }

  private static void putContainer(ObjectNode node, @Nullable ContainerId container) {
    if (container != null) {
      node.put("container", container.value());
    }
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException("'" + field + "' is missing or not a string");
    }
    return value.textValue();
  }

  private static long number(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.canConvertToExactIntegral() || !value.canConvertToLong()) {
      throw new IllegalArgumentException("'" + field + "' is missing or not an integer");
    }
    return value.longValue();
  }
}
