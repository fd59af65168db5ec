package dev.egress.daemon.wire;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.audit.AuditRecord;
import dev.egress.audit.RefusedPacket;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.UserText;
import java.time.Instant;
import java.util.function.Function;

/**
 * Events as subscribers receive them: {@code {"type": T, "time": TIME, ...}}, one JSON object per
 * enforcer event, with the fields the protocol document lists per type.
 */
public final class EventJson {
  private EventJson() {}

  /**
   * The wire form of {@code event}.
   *
   * @param ruleSetNames the backend's rule-set name of a container id
   */
  public static ObjectNode of(EgressEvent event, Function<ContainerId, RuleSetName> ruleSetNames) {
    if (event instanceof EgressEvent.Attached attached) {
      ObjectNode json = base("attached", event.time());
      subject(json, event.subject(), ruleSetNames);
      json.put("policy", PolicyText.format(attached.policy()));
      return json;
    }
    if (event instanceof EgressEvent.Updated updated) {
      ObjectNode json = base("updated", event.time());
      subject(json, event.subject(), ruleSetNames);
      json.put("policy", PolicyText.format(updated.policy()));
      return json;
    }
    if (event instanceof EgressEvent.Detached) {
      ObjectNode json = base("detached", event.time());
      subject(json, event.subject(), ruleSetNames);
      return json;
    }
    if (event instanceof EgressEvent.AddressesRefreshed refreshed) {
      ObjectNode json = base("addresses-refreshed", event.time());
      subject(json, event.subject(), ruleSetNames);
      ArrayNode changed = json.putArray("changed");
      refreshed.changed().stream().map(HostName::ascii).sorted().forEach(changed::add);
      return json;
    }
    if (event instanceof EgressEvent.DriftDetected drift) {
      ObjectNode json = base("drift-detected", event.time());
      subject(json, event.subject(), ruleSetNames);
      json.put("description", UserText.line(drift.description()));
      json.put("repaired", drift.repaired());
      return json;
    }
    if (event instanceof EgressEvent.DnsQueried queried) {
      ObjectNode json = base("dns-query", event.time());
      subject(json, event.subject(), ruleSetNames);
      json.put("name", UserText.line(queried.name()));
      json.put("queryType", queried.type());
      json.put("verdict", queried.verdict().toString());
      ArrayNode granted = json.putArray("granted");
      queried.granted().stream().map(IpAddresses::format).sorted().forEach(granted::add);
      return json;
    }
    if (event instanceof EgressEvent.WildcardBurst burst) {
      ObjectNode json = base("wildcard-burst", event.time());
      subject(json, event.subject(), ruleSetNames);
      json.put("wildcard", burst.wildcard().ascii());
      json.put("uniqueNames", burst.uniqueNames());
      json.put("windowSeconds", burst.window().toSeconds());
      return json;
    }
    EgressEvent.Failed failed = (EgressEvent.Failed) event;
    return failed(
        failed.time(),
        failed.subject(),
        failed.operation().toString(),
        failed.message(),
        ruleSetNames);
  }

  /**
   * A {@code failed} event: {@code operation} is one of the enforcer's (attach, update, detach,
   * remove, refresh, repair) or the daemon's own {@code reload} of a policy file.
   */
  public static ObjectNode failed(
      Instant time,
      Subject subject,
      String operation,
      String message,
      Function<ContainerId, RuleSetName> ruleSetNames) {
    ObjectNode json = base("failed", time);
    subject(json, subject, ruleSetNames);
    json.put("operation", operation);
    json.put("message", UserText.line(message));
    return json;
  }

  /**
   * A {@code denied} event: a packet the filter refused, as the audit trail recorded it; {@code
   * containerId} and {@code ruleSet} when a container held the packet's source address.
   */
  public static ObjectNode denied(
      AuditRecord.Refused record, Function<ContainerId, RuleSetName> ruleSetNames) {
    ObjectNode json = base("denied", record.time());
    ContainerId container = record.container();
    if (container != null) {
      subject(json, Subject.container(container), ruleSetNames);
    }
    RefusedPacket packet = record.packet();
    json.put("source", IpAddresses.format(packet.source()));
    json.put("destination", IpAddresses.format(packet.destination()));
    Integer port = packet.destinationPort();
    if (port != null) {
      json.put("port", port);
    }
    json.put("protocol", packet.protocol().wireName());
    json.put("reason", record.reason().wireName());
    HostName host = record.host();
    if (host != null) {
      json.put("host", host.ascii());
    }
    return json;
  }

  /** The {@code overflow} event a subscriber gets before it is dropped. */
  public static ObjectNode overflow(Instant time, long dropped) {
    ObjectNode json = base("overflow", time);
    json.put("dropped", dropped);
    return json;
  }

  private static ObjectNode base(String type, Instant time) {
    ObjectNode json = Json.object();
    json.put("type", type);
    json.put("time", Json.time(time));
    return json;
  }

  /**
   * A container's id and rule set; only the rule set for rules no attachment of this daemon owns;
   * neither for the host.
   */
  private static void subject(
      ObjectNode json, Subject subject, Function<ContainerId, RuleSetName> ruleSetNames) {
    if (subject instanceof Subject.Container container) {
      json.put("containerId", container.id().value());
      json.put("ruleSet", ruleSetNames.apply(container.id()).value());
    } else if (subject instanceof Subject.Unowned unowned) {
      json.put("ruleSet", unowned.name().value());
    }
  }
}
