package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.audit.AuditJson;
import dev.egress.audit.AuditRecord;
import dev.egress.audit.PacketProtocol;
import dev.egress.audit.Reason;
import dev.egress.audit.RefusedPacket;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** egressctl logs: the audit file as a table or JSON Lines, by container, followed. */
class LogsCommandTest {
  private static final Instant T = Instant.parse("2026-11-30T14:02:11.123456Z");

  @TempDir Path dir;

  static AuditRecord.Refused refused(String container, String destination, int port) {
    return new AuditRecord.Refused(
        new RefusedPacket(
            T,
            IpAddresses.parse("10.213.0.5"),
            IpAddresses.parse(destination),
            PacketProtocol.TCP,
            port),
        ContainerId.of(container),
        Reason.NOT_IN_POLICY,
        "agent",
        HostName.of("exfil.example"));
  }

  private Path write(String name, AuditRecord... records) throws Exception {
    Path file = dir.resolve(name);
    StringBuilder text = new StringBuilder();
    for (AuditRecord record : records) {
      text.append(AuditJson.write(record)).append('\n');
    }
    Files.writeString(file, text);
    return file;
  }

  @Test
  void table_showsEveryRecord_rotatedFilesFirst() throws Exception {
    Path file = write("audit.jsonl", refused("c2", "198.51.100.7", 22));
    write("audit.jsonl.1", refused("c1", "203.0.113.9", 443));
    AuditRecord.Dropped dropped =
        new AuditRecord.Dropped(
            T, ContainerId.of("c1"), AuditRecord.DropCause.RATE_LIMIT, 99_980, T);
    Files.writeString(file, AuditJson.write(dropped) + "\n", StandardOpenOption.APPEND);

    Cli.Result result = new Cli().run("logs", "--file", file.toString());

    assertEquals(0, result.exit(), result.err());
    List<String> lines = result.out().lines().toList();
    assertEquals(LogsCommand.HEADER, lines.get(0));
    assertEquals(
        "2026-11-30T14:02:11.123456Z  c1                10.213.0.5 -> 203.0.113.9 tcp/443"
            + "                 not-in-policy         policy agent host exfil.example",
        lines.get(1));
    assertTrue(
        lines.get(2).contains("c2") && lines.get(2).contains("198.51.100.7 tcp/22"), lines.get(2));
    assertTrue(
        lines.get(3).contains("99980 records not written since 2026-11-30T14:02:11.123456Z")
            && lines.get(3).contains("rate-limit"),
        lines.get(3));
    assertEquals(4, lines.size());
  }

  @Test
  void json_byContainer_printsOnlyThatContainersRecords_asAuditLines() throws Exception {
    Path file =
        write(
            "audit.jsonl",
            refused("c1", "203.0.113.9", 443),
            refused("c2", "198.51.100.7", 22),
            refused("c1", "203.0.113.10", 8443));

    Cli.Result result =
        new Cli().run("logs", "--file", file.toString(), "--container", "c1", "--json");

    assertEquals(0, result.exit(), result.err());
    assertEquals(
        List.of(
            AuditJson.write(refused("c1", "203.0.113.9", 443)),
            AuditJson.write(refused("c1", "203.0.113.10", 8443))),
        result.out().lines().toList());
  }

  @Test
  void fileFromTheEnvironment_whenNoFileIsGiven() throws Exception {
    Path file = write("elsewhere.jsonl", refused("c1", "203.0.113.9", 443));

    Cli.Result result =
        new Cli().env(LogsCommand.FILE_VARIABLE, file.toString()).run("logs", "--json");

    assertEquals(0, result.exit(), result.err());
    assertEquals(1, result.out().lines().count());
  }

  @Test
  void linesThatAreNotRecords_areCountedAndExitOne_theOthersShown() throws Exception {
    Path file = write("audit.jsonl", refused("c1", "203.0.113.9", 443));
    Files.writeString(file, "garbage\n{\"version\":2}\n", StandardOpenOption.APPEND);

    Cli.Result result = new Cli().run("logs", "--file", file.toString(), "--json");

    assertEquals(1, result.exit());
    assertEquals(1, result.out().lines().count());
    assertTrue(
        result.err().contains("2 lines were not an audit record of version 1"), result.err());
  }

  @Test
  void missingFile_isExitThree_andABadContainerIdUsageTwo() {
    Path missing = dir.resolve("none.jsonl");

    Cli.Result result = new Cli().run("logs", "--file", missing.toString());
    Cli.Result badId = new Cli().run("logs", "--file", missing.toString(), "--container", "a b");

    assertEquals(3, result.exit());
    assertTrue(result.err().contains("no audit file"), result.err());
    assertEquals(2, badId.exit());
  }

  @Test
  void follow_printsRecordsAppendedLater_untilInterrupted() throws Exception {
    Path file = write("audit.jsonl", refused("c1", "203.0.113.9", 443));
    StringWriter out = new StringWriter();
    Cli cli = new Cli();
    CliHost base = cli.host();
    CliHost host =
        new CliHost(
            new PrintWriter(out, true),
            base.err(),
            base.environment(),
            false,
            base.osName(),
            base.processes());
    AtomicInteger exit = new AtomicInteger(-1);
    Thread follower =
        new Thread(
            () -> exit.set(Egressctl.run(host, "logs", "--file", file.toString(), "--json", "-f")));
    follower.start();
    waitFor(() -> out.toString().lines().count() == 1);

    String later = AuditJson.write(refused("c1", "203.0.113.10", 80));
    Files.writeString(file, later.substring(0, 10), StandardOpenOption.APPEND);
    Thread.sleep(400);
    assertEquals(1, out.toString().lines().count(), "half a line is not printed");
    Files.writeString(file, later.substring(10) + "\n", StandardOpenOption.APPEND);
    waitFor(() -> out.toString().lines().count() == 2);
    // Rotation: a new, smaller file is read from its start.
    Files.move(file, dir.resolve("audit.jsonl.1"));
    String afterRotation = AuditJson.write(refused("c1", "203.0.113.11", 81));
    Files.writeString(file, afterRotation + "\n");
    waitFor(() -> out.toString().lines().count() == 3);
    follower.interrupt();
    follower.join(5000);

    assertEquals(
        List.of(AuditJson.write(refused("c1", "203.0.113.9", 443)), later, afterRotation),
        out.toString().lines().toList());
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out");
      }
      Thread.sleep(20);
    }
  }
}
