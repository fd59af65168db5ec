package dev.egress.pf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.audit.AuditJson;
import dev.egress.audit.AuditRecord;
import dev.egress.audit.AuditWriter;
import dev.egress.audit.Reason;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.HostName;
import dev.egress.policy.PolicyText;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.testkit.SteppedClock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pf enforcer's audit trail wired end to end, pf and tcpdump being unavailable here: a fake
 * {@code tcpdump} executable prints recorded {@code pflog0} lines (written by hand from tcpdump's
 * print-pflog.c and pf's header, with our anchors' names, both families), dies, is started again
 * and prints more; a fake {@code ifconfig} (a scripted process runner, FakePfctl behind it for
 * pfctl) says whether {@code pflog0} exists and creates it.
 */
class PfAuditTrailTest {
  private static final ContainerEndpoint C1 =
      new ContainerEndpoint(
          ContainerId.of("1a2b3c4d5e6f"),
          List.of(PfFixture.ip("192.168.70.3"), PfFixture.ip("fd00:70::3")),
          null);

  @TempDir Path dir;

  private final PfFixture pf = new PfFixture();
  private final List<List<String>> ifconfigCalls = new CopyOnWriteArrayList<>();
  private final List<AuditRecord.Refused> records = new CopyOnWriteArrayList<>();
  private boolean pflogExists;
  private boolean createFails;

  @AfterEach
  void closeFixture() {
    pf.close();
  }

  /** ifconfig as the scripted host has it; everything else is pfctl, to FakePfctl. */
  private final ProcessRunner runner =
      command -> {
        if (!command.argv().get(0).equals("ifconfig")) {
          return pf.fake.run(command);
        }
        ifconfigCalls.add(command.argv());
        if (command.argv().equals(List.of("ifconfig", "pflog0"))) {
          return pflogExists
              ? new ProcessResult(0, "pflog0: flags=0<> mtu 33172\n", "")
              : new ProcessResult(1, "", "ifconfig: interface pflog0 does not exist\n");
        }
        if (command.argv().equals(List.of("ifconfig", "pflog0", "create")) && !createFails) {
          pflogExists = true;
          return new ProcessResult(0, "", "");
        }
        return new ProcessResult(1, "", "ifconfig: SIOCIFCREATE2: Operation not permitted\n");
      };

  /**
   * A tcpdump that says it listens, prints {@code first} once the test says the container is
   * attached and dies the first time it runs, then prints {@code second} and stays until killed; it
   * records each start and its pid.
   */
  private Path fakeTcpdump() throws IOException {
    Path first = resource("pflog-recorded.txt");
    Path second = resource("pflog-recorded-after-restart.txt");
    return script(
        "tcpdump",
        String.join(
            "\n",
            "#!/bin/sh",
            "[ \"$*\" = '-q -n -e -l -tt -i pflog0' ] || { echo \"unexpected: $*\" >&2; exit 2; }",
            "echo $$ >> '" + dir.resolve("starts") + "'",
            "echo 'tcpdump: listening on pflog0, link-type PFLOG (OpenBSD pflog file)' >&2",
            "if [ ! -e '" + dir.resolve("died") + "' ]; then",
            "  touch '" + dir.resolve("died") + "'",
            "  while [ ! -e '" + dir.resolve("attached") + "' ]; do sleep 0.05; done",
            "  cat '" + first + "'",
            "  exit 1",
            "fi",
            "cat '" + second + "'",
            "exec sleep 600",
            ""));
  }

  /** An executable shell script {@code name} in the test's directory. */
  private Path script(String name, String text) throws IOException {
    Path script = dir.resolve(name);
    Files.writeString(script, text, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  private Path resource(String name) throws IOException {
    Path copy = dir.resolve(name);
    try (InputStream in = Objects.requireNonNull(getClass().getResourceAsStream(name), name)) {
      Files.write(copy, in.readAllBytes());
    }
    return copy;
  }

  private PfEgressEnforcer.Builder audited(AuditWriter writer) throws IOException {
    pf.resolver.answer("api.example.com", Set.of(PfFixture.ip("203.0.113.9")));
    return pf.builder(runner, List.of("/sbin/pfctl"))
        .clock(new SteppedClock(Instant.ofEpochSecond(1764439999L)))
        .ifconfigCommand(List.of("ifconfig"))
        .tcpdumpCommand(List.of(fakeTcpdump().toString()))
        .auditRestartDelay(Duration.ofMillis(100))
        .audit(writer, records::add);
  }

  @Test
  void recordedLines_becomeAttributedNamedRecords_andTheReaderIsRestartedWhenItDies()
      throws Exception {
    Path file = dir.resolve("audit.jsonl");
    List<Long> pids;
    try (AuditWriter writer = AuditWriter.builder(file).build();
        PfEgressEnforcer enforcer = audited(writer).build()) {
      enforcer.attach(
          C1,
          PolicyText.parse(
              "allow api.example.com port 443\ndns 192.168.70.1\nlog denied\n", "agent"));
      Files.createFile(dir.resolve("attached"));

      // The restarted reader's lines arrive before the supervisor counts the restart: wait for
      // both.
      await(() -> records.size() >= 4 && enforcer.auditReader().orElseThrow().restarts() >= 1);
      assertEquals(
          List.of(List.of("ifconfig", "pflog0"), List.of("ifconfig", "pflog0", "create")),
          ifconfigCalls,
          "pflog0 was missing: created");
      assertEquals(1, enforcer.auditReader().orElseThrow().restarts());
      assertTrue(enforcer.auditReader().orElseThrow().reading());
      pids = startedPids();
      assertEquals(2, pids.size());
    }

    assertEquals(4, records.size(), records.toString());
    AuditRecord.Refused named = records.get(0);
    assertEquals(C1.id(), named.container());
    assertEquals(Reason.NOT_IN_POLICY, named.reason());
    assertEquals(HostName.of("api.example.com"), named.host(), "the name it was given");
    assertNull(records.get(1).host(), "no name was given for 198.51.100.7");
    assertEquals(Reason.GUARD_UNATTACHED, records.get(2).reason());
    assertNull(records.get(2).container());
    assertEquals(C1.id(), records.get(3).container(), "after the restart, IPv6");
    assertEquals(Reason.DNS_FOREIGN_RESOLVER, records.get(3).reason());
    for (long pid : pids) {
      assertFalse(
          ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
          "close stopped reader " + pid);
    }
    List<String> lines = Files.readAllLines(file);
    assertEquals(records, lines.stream().map(AuditJson::read).toList());
  }

  @Test
  void anExistingPflog0_isNotCreatedAgain() throws Exception {
    pflogExists = true;
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build();
        PfEgressEnforcer enforcer = audited(writer).build()) {
      assertEquals(List.of(List.of("ifconfig", "pflog0")), ifconfigCalls);
    }
  }

  @Test
  void pflog0ThatCannotBeCreated_failsTheBuild_withIfconfigsWords_andStartsNoReader()
      throws Exception {
    createFails = true;
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build()) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> audited(writer).build());
      assertTrue(e.getMessage().contains("Operation not permitted"), e.getMessage());
    }
    assertFalse(Files.exists(dir.resolve("starts")), "no tcpdump was started");
  }

  @Test
  void aReaderThatNeverListens_failsTheBuild_andIsNotLeftRunning() throws Exception {
    pflogExists = true;
    Path silent =
        script(
            "silent-tcpdump", "#!/bin/sh\necho 'tcpdump: pflog0: permission denied' >&2\nexit 1\n");
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build()) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> audited(writer).tcpdumpCommand(List.of(silent.toString())).build());
      assertTrue(e.getMessage().contains("permission"), e.getMessage());
    }
  }

  @Test
  void aSecondBuild_ofTheSameBuilder_keepsItsHistoryApart_fromTheFirstEnforcersRecords()
      throws Exception {
    Path quiet =
        script(
            "quiet-tcpdump",
            "#!/bin/sh\necho 'tcpdump: listening on pflog0' >&2\nexec sleep 600\n");
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build()) {
      PfEgressEnforcer.Builder builder = audited(writer);
      try (PfEgressEnforcer first = builder.build();
          PfEgressEnforcer second = builder.tcpdumpCommand(List.of(quiet.toString())).build()) {
        second.attach(
            C1,
            PolicyText.parse(
                "allow api.example.com port 443\ndns 192.168.70.1\nlog denied\n", "agent"));
        Files.createFile(dir.resolve("attached"));

        // Only the first enforcer's reader prints: the lines of C1's anchor, which only the
        // second enforcer loaded. The first enforcer never attached C1: it names nobody.
        await(() -> records.size() >= 4);
        assertTrue(first.attachments().isEmpty());
      }
    }
    assertEquals(4, records.size(), records.toString());
    for (AuditRecord.Refused record : records) {
      assertNull(record.container(), "the first enforcer's history heard the second: " + record);
      assertNull(record.host(), record.toString());
    }
  }

  @Test
  void anAuditTrailWithoutAResolver_failsTheBuild_beforeIfconfigOrTcpdumpRuns() throws Exception {
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build()) {
      PfEgressEnforcer.Builder builder =
          PfEgressEnforcer.builder()
              .processRunner(runner)
              .ifconfigCommand(List.of("ifconfig"))
              .tcpdumpCommand(List.of(fakeTcpdump().toString()))
              .audit(writer, records::add);
      IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
      assertTrue(e.getMessage().contains("call resolver("), e.getMessage());
    }
    assertEquals(List.of(), ifconfigCalls);
    assertFalse(Files.exists(dir.resolve("starts")), "no tcpdump was started");
  }

  @Test
  void aLifecycleThatCannotStart_failsTheBuild_andStopsTheReaderItStarted() throws Exception {
    pflogExists = true;
    ScheduledExecutorService stopped = Executors.newSingleThreadScheduledExecutor();
    stopped.shutdown();
    try (AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build()) {
      PfEgressEnforcer.Builder builder =
          audited(writer).scheduler(stopped).healthInterval(Duration.ofMinutes(1));
      assertThrows(RejectedExecutionException.class, builder::build);
    }
    List<Long> pids = startedPids();
    assertEquals(1, pids.size());
    assertFalse(
        ProcessHandle.of(pids.get(0)).map(ProcessHandle::isAlive).orElse(false),
        "the reader was stopped");
  }

  @Test
  void withoutAnAuditWriter_noReader() {
    try (PfEgressEnforcer enforcer = pf.builder(runner, List.of("/sbin/pfctl")).build()) {
      assertTrue(enforcer.auditReader().isEmpty());
      assertEquals(List.of(), ifconfigCalls);
    }
  }

  private List<Long> startedPids() throws IOException {
    return Files.readAllLines(dir.resolve("starts")).stream().map(Long::parseLong).toList();
  }

  private void await(BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("records so far: " + records);
      }
      Thread.sleep(20);
    }
  }
}
