package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** From tcpdump's lines to attributed, written records. */
class RefusalLogTest {
  private static final ContainerId C1 = ContainerId.of("c1");

  @TempDir Path dir;

  @Test
  void nflogLines_becomeRecordsOfTheGroupsReason_attributedBySource() throws Exception {
    AddressHistory history = AddressHistory.withDefaults();
    history.attached(
        Instant.ofEpochSecond(1796000000L),
        new ContainerEndpoint(
            C1, List.of(IpAddresses.parse("10.77.0.2"), IpAddresses.parse("fd77::2")), null),
        EgressPolicy.denyAll(),
        "agent");
    List<AuditRecord.Refused> heard = new CopyOnWriteArrayList<>();
    NflogGroups groups = new NflogGroups(100);
    Path file = dir.resolve("audit.jsonl");
    RefusalLog log;
    try (AuditWriter writer = AuditWriter.builder(file).build()) {
      log = new RefusalLog(history, writer, heard::add);
      log.nflogLine(groups, 100, "1796000250.216781 IP 10.77.0.2.49582 > 10.77.0.1.443: tcp 0");
      log.nflogLine(groups, 101, "1796000252.334714 IP6 fd77::2.40858 > fd77::1.53: UDP, length 2");
      log.nflogLine(
          groups, 102, "1796000254.282888 IP 10.77.0.2 > 10.77.0.1: ICMP echo request, id 77");
      log.nflogLine(groups, 104, "1796000250.216781 IP 10.77.0.2.49582 > 10.77.0.1.443: tcp 0");
      log.nflogLine(
          groups, 100, "1796000224.073502 IP 10.77.0.2.50695 > 1.2.3.4.53: 1+ A? x. (31)");
    }

    assertEquals(2, log.unparsed(), "a group of no reason, a guessed protocol");
    assertEquals(
        List.of(Reason.NOT_IN_POLICY, Reason.DNS_FOREIGN_RESOLVER, Reason.GUARD_UNATTACHED),
        heard.stream().map(AuditRecord.Refused::reason).toList());
    assertEquals(C1, heard.get(0).container());
    assertEquals("agent", heard.get(0).policy());
    assertEquals(C1, heard.get(1).container());
    assertNull(heard.get(2).container(), "the guard's refusals name no container");
    List<String> lines = Files.readAllLines(file);
    lines.forEach(Schema::assertValid);
    assertEquals(heard, lines.stream().map(AuditJson::read).toList());
  }

  @Test
  void pflogLines_becomeRecords() throws Exception {
    AddressHistory history = AddressHistory.withDefaults();
    history.attached(
        Instant.ofEpochSecond(1764440000L),
        new ContainerEndpoint(C1, List.of(IpAddresses.parse("192.168.64.3")), null),
        EgressPolicy.denyAll(),
        null);
    PflogReasons reasons =
        new PflogReasons("com.apple/000.egress", List.of(IpNetwork.parse("192.168.64.0/24")));
    List<AuditRecord.Refused> heard = new CopyOnWriteArrayList<>();
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build()) {
      RefusalLog log = new RefusalLog(history, writer, heard::add);
      log.pflogLine(
          reasons,
          "1764440000.123456 rule 0.c-1.5/0(match): block in on bridge100: "
              + "192.168.64.3.51234 > 203.0.113.9.443: tcp 0");
      log.pflogLine(
          reasons,
          "1764440000.123456 rule 0..0/0(match): pass in on bridge100: "
              + "192.168.64.3.51234 > 203.0.113.9.443: tcp 0");
      assertEquals(1, log.unparsed());
    }

    assertEquals(1, heard.size());
    assertEquals(C1, heard.get(0).container());
    assertEquals(Reason.NOT_IN_POLICY, heard.get(0).reason());
  }

  @Test
  void nflogGroups_mapEachReasonToItsOwnGroup_andRefuseBasesOutOfRange() {
    NflogGroups groups = NflogGroups.defaults();
    for (Reason reason : Reason.values()) {
      assertEquals(reason, groups.reasonOf(groups.group(reason)));
    }
    assertNull(groups.reasonOf(NflogGroups.DEFAULT_BASE - 1));
    assertNull(groups.reasonOf(NflogGroups.DEFAULT_BASE + Reason.values().length));
    assertThrows(IllegalArgumentException.class, () -> new NflogGroups(-1));
    assertThrows(IllegalArgumentException.class, () -> new NflogGroups(65533));
    assertEquals(65535, new NflogGroups(65532).group(Reason.SPOOFED_SOURCE));
  }
}
