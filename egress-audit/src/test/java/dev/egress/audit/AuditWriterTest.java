package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JSONL writer: size cap with rotation, per-container rate limit, drop summaries. */
class AuditWriterTest {
  private static final Instant START = Instant.parse("2026-11-30T14:00:00Z");
  private static final ContainerId C1 = ContainerId.of("c1");
  private static final ContainerId C2 = ContainerId.of("c2");

  @TempDir Path dir;

  private final ManualClock clock = new ManualClock(START);

  static AuditRecord.Refused refused(ContainerId container, int port) {
    return new AuditRecord.Refused(
        new RefusedPacket(
            START,
            IpAddresses.parse("10.213.0.5"),
            IpAddresses.parse("203.0.113.9"),
            PacketProtocol.TCP,
            port),
        container,
        Reason.NOT_IN_POLICY,
        null,
        null);
  }

  /** Every line of the files, oldest first, each checked against the schema. */
  private List<AuditRecord> records(Path file, int rotated) throws IOException {
    List<AuditRecord> records = new ArrayList<>();
    for (int i = rotated; i >= 0; i--) {
      Path path = i == 0 ? file : file.resolveSibling(file.getFileName() + "." + i);
      if (Files.exists(path)) {
        for (String line : Files.readAllLines(path)) {
          Schema.assertValid(line);
          records.add(AuditJson.read(line));
        }
      }
    }
    return records;
  }

  @Test
  void offer_withinTheLimits_writesEveryRecordInOrder_ownerOnly() throws IOException {
    Path file = dir.resolve("audit.jsonl");
    try (AuditWriter writer = AuditWriter.builder(file).clock(clock).build()) {
      for (int port = 1; port <= 50; port++) {
        assertTrue(writer.offer(refused(C1, port)));
      }
    }

    List<AuditRecord> records = records(file, 0);
    assertEquals(50, records.size());
    for (int i = 0; i < 50; i++) {
      assertEquals(refused(C1, i + 1), records.get(i));
    }
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
  }

  @Test
  void sizeCap_rotatesFiles_andNeverExceedsTheCap() throws IOException {
    Path file = dir.resolve("audit.jsonl");
    long cap = 8192;
    try (AuditWriter writer =
        AuditWriter.builder(file)
            .clock(clock)
            .maxFileBytes(cap)
            .rotatedFiles(2)
            .rateLimit(1e9, 1_000_000)
            .build()) {
      for (int i = 0; i < 2000; i++) {
        writer.offer(refused(C1, 1 + i % 65535));
      }
    }

    assertTrue(Files.size(file) <= cap, "size " + Files.size(file));
    assertTrue(Files.size(dir.resolve("audit.jsonl.1")) <= cap);
    assertTrue(Files.size(dir.resolve("audit.jsonl.2")) <= cap);
    assertFalse(Files.exists(dir.resolve("audit.jsonl.3")));
    List<AuditRecord> kept = records(file, 2);
    // The newest records are kept, in order, up to the last one offered.
    assertEquals(refused(C1, 2000), kept.get(kept.size() - 1));
    for (int i = 1; i < kept.size(); i++) {
      int previous = ((AuditRecord.Refused) kept.get(i - 1)).packet().destinationPort();
      int current = ((AuditRecord.Refused) kept.get(i)).packet().destinationPort();
      assertEquals(previous + 1, current);
    }
  }

  @Test
  void rateLimit_dropsAFloodersExcess_countsIt_andSummarisesIt_othersUnaffected()
      throws IOException {
    Path file = dir.resolve("audit.jsonl");
    int flooded = 100_000;
    int accepted = 0;
    try (AuditWriter writer =
        AuditWriter.builder(file).clock(clock).rateLimit(10, 20).queueCapacity(100_000).build()) {
      for (int i = 0; i < flooded; i++) {
        accepted += writer.offer(refused(C1, 443)) ? 1 : 0;
      }
      assertTrue(writer.offer(refused(C2, 443)), "the second container has its own bucket");
      assertEquals(20, accepted);
      assertEquals(flooded - 20, writer.dropped(C1));
      assertEquals(0, writer.dropped(C2));

      clock.advance(Duration.ofSeconds(1));
      assertEquals(10, countAccepted(writer, C1, 15), "refilled at ten per second");
    }

    List<AuditRecord> records = records(file, 0);
    List<AuditRecord.Dropped> summaries =
        records.stream()
            .filter(AuditRecord.Dropped.class::isInstance)
            .map(AuditRecord.Dropped.class::cast)
            .toList();
    assertEquals(
        List.of(
            new AuditRecord.Dropped(
                START.plusSeconds(1),
                C1,
                AuditRecord.DropCause.RATE_LIMIT,
                flooded - 20 + 5,
                START)),
        summaries);
    assertEquals(20 + 1 + 10, records.size() - summaries.size());
  }

  @Test
  void summaries_areWrittenOncePerInterval_whileTheWriterRuns() throws Exception {
    Path file = dir.resolve("audit.jsonl");
    try (AuditWriter writer =
        AuditWriter.builder(file)
            .clock(clock)
            .rateLimit(1, 1)
            .summaryInterval(Duration.ofSeconds(10))
            .build()) {
      writer.offer(refused(C1, 1));
      writer.offer(refused(C1, 2));
      writer.offer(refused(C1, 3));
      clock.advance(Duration.ofSeconds(11));
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (writer.written() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(2, writer.written(), "the record and the summary, before close");
    }

    assertEquals(
        List.of(
            refused(C1, 1),
            new AuditRecord.Dropped(
                START.plusSeconds(11), C1, AuditRecord.DropCause.RATE_LIMIT, 2, START)),
        records(file, 0));
  }

  @Test
  void fullQueue_dropsAndCountsAsQueueFull() throws IOException {
    Path file = dir.resolve("audit.jsonl");
    Files.createDirectory(file); // the writer cannot open it: nothing leaves the queue quickly
    AuditWriter writer =
        AuditWriter.builder(file).clock(clock).queueCapacity(1).rateLimit(1e9, 1_000_000).build();
    int accepted = 0;
    for (int i = 0; i < 10_000; i++) {
      accepted += writer.offer(refused(C1, 443)) ? 1 : 0;
    }
    writer.close();

    assertTrue(writer.dropped(C1) > 0, "some were left out");
    assertEquals(10_000, accepted + writer.dropped(C1));
    assertTrue(writer.failures() > 0, "failures to open the file are counted");
  }

  @Test
  void offer_afterClose_throws() {
    AuditWriter writer = AuditWriter.builder(dir.resolve("a.jsonl")).build();
    writer.close();

    assertThrows(IllegalStateException.class, () -> writer.offer(refused(C1, 1)));
  }

  @Test
  void builder_refusesValuesOutOfRange() {
    AuditWriter.Builder builder = AuditWriter.builder(dir.resolve("a.jsonl"));
    assertThrows(IllegalArgumentException.class, () -> builder.maxFileBytes(100));
    assertThrows(IllegalArgumentException.class, () -> builder.rotatedFiles(-1));
    assertThrows(IllegalArgumentException.class, () -> builder.queueCapacity(0));
    assertThrows(IllegalArgumentException.class, () -> builder.rateLimit(0, 1));
    assertThrows(IllegalArgumentException.class, () -> builder.rateLimit(1, 0));
    assertThrows(IllegalArgumentException.class, () -> builder.rateLimit(Double.NaN, 1));
    assertThrows(IllegalArgumentException.class, () -> builder.summaryInterval(Duration.ZERO));
  }

  private static int countAccepted(AuditWriter writer, ContainerId container, int offers) {
    int accepted = 0;
    for (int i = 0; i < offers; i++) {
      accepted += writer.offer(refused(container, 443)) ? 1 : 0;
    }
    return accepted;
  }
}
