package dev.egress.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.audit.AuditRecord;
import dev.egress.audit.PacketProtocol;
import dev.egress.audit.Reason;
import dev.egress.audit.RefusedPacket;
import dev.egress.daemon.TestDaemon.TestRuleSet;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.DnsVerdict;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class EventJsonTest {
  private static final Instant TIME = Instant.parse("2026-11-29T14:02:11.123456Z");
  private static final ContainerId C1 = ContainerId.of("c1");
  private static final Function<ContainerId, RuleSetName> NAMES =
      id -> new TestRuleSet("c_" + id.value());

  private static String json(EgressEvent event) {
    return EventJson.of(event, NAMES).toString();
  }

  @Test
  void everyEventType_hasItsFields() throws Exception {
    ContainerEndpoint endpoint =
        new ContainerEndpoint(C1, List.of(IpAddresses.parse("10.213.0.5")), null);
    var policy = PolicyText.parse("allow 192.0.2.10 port 443\ndns none\n", "test");

    assertEquals(
        "{\"type\":\"attached\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"policy\":\"allow 192.0.2.10 port 443 proto tcp\\ndns none\\n\"}",
        json(new EgressEvent.Attached(TIME, endpoint, policy)));
    assertEquals(
        "{\"type\":\"updated\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"policy\":\"allow 192.0.2.10 port 443 proto tcp\\ndns none\\n\"}",
        json(new EgressEvent.Updated(TIME, endpoint, policy)));
    assertEquals(
        "{\"type\":\"detached\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\",\"ruleSet\":\"c_c1\"}",
        json(new EgressEvent.Detached(TIME, Subject.container(C1))));
    assertEquals(
        "{\"type\":\"detached\",\"time\":\"2026-11-29T14:02:11.123Z\",\"ruleSet\":\"c_old\"}",
        json(new EgressEvent.Detached(TIME, Subject.unowned(new TestRuleSet("c_old")))));
    assertEquals(
        "{\"type\":\"addresses-refreshed\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"changed\":[\"a.example\",\"b.example\"]}",
        json(
            new EgressEvent.AddressesRefreshed(
                TIME, C1, Set.of(HostName.of("b.example"), HostName.of("a.example")))));
    assertEquals(
        "{\"type\":\"drift-detected\",\"time\":\"2026-11-29T14:02:11.123Z\","
            + "\"description\":\"table missing\\\\u202E\",\"repaired\":true}",
        json(new EgressEvent.DriftDetected(TIME, Subject.host(), "table missing\u202e", true)));
    assertEquals(
        "{\"type\":\"failed\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"operation\":\"detach\",\"message\":\"nft failed\"}",
        json(
            new EgressEvent.Failed(
                TIME, Subject.container(C1), EgressEvent.Operation.DETACH, "nft failed")));
    assertEquals(
        "{\"type\":\"dns-query\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"name\":\"a\\\\000.example\",\"queryType\":\"A\","
            + "\"verdict\":\"answered\",\"granted\":[\"192.0.2.1\",\"192.0.2.2\"]}",
        json(
            new EgressEvent.DnsQueried(
                TIME,
                C1,
                "a\\000.example",
                "A",
                DnsVerdict.ANSWERED,
                Set.of(IpAddresses.parse("192.0.2.2"), IpAddresses.parse("192.0.2.1")))));
    assertEquals(
        "{\"type\":\"wildcard-burst\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"wildcard\":\"*.example.com\",\"uniqueNames\":100,"
            + "\"windowSeconds\":60}",
        json(
            new EgressEvent.WildcardBurst(
                TIME, C1, HostName.of("*.example.com"), 100, Duration.ofMinutes(1))));
    assertEquals(
        "{\"type\":\"overflow\",\"time\":\"2026-11-29T14:02:11.123Z\",\"dropped\":7}",
        EventJson.overflow(TIME, 7).toString());
  }

  @Test
  void denied_carriesTheRecord_withTheContainerOnlyWhenOneHeldTheSource() {
    RefusedPacket tcp =
        new RefusedPacket(
            TIME,
            IpAddresses.parse("10.213.0.5"),
            IpAddresses.parse("203.0.113.9"),
            PacketProtocol.TCP,
            443);
    assertEquals(
        "{\"type\":\"denied\",\"time\":\"2026-11-29T14:02:11.123Z\",\"containerId\":\"c1\","
            + "\"ruleSet\":\"c_c1\",\"source\":\"10.213.0.5\",\"destination\":\"203.0.113.9\","
            + "\"port\":443,\"protocol\":\"tcp\",\"reason\":\"not-in-policy\","
            + "\"host\":\"api.example.com\"}",
        EventJson.denied(
                new AuditRecord.Refused(
                    tcp, C1, Reason.NOT_IN_POLICY, "agent", HostName.of("api.example.com")),
                NAMES)
            .toString());
    RefusedPacket forged =
        new RefusedPacket(
            TIME,
            IpAddresses.parse("fd00:66::9"),
            IpAddresses.parse("2001:db8::1"),
            PacketProtocol.ICMPV6,
            null);
    assertEquals(
        "{\"type\":\"denied\",\"time\":\"2026-11-29T14:02:11.123Z\",\"source\":\"fd00:66::9\","
            + "\"destination\":\"2001:db8::1\",\"protocol\":\"icmpv6\","
            + "\"reason\":\"spoofed-source\"}",
        EventJson.denied(
                new AuditRecord.Refused(forged, null, Reason.SPOOFED_SOURCE, null, null), NAMES)
            .toString());
  }
}
