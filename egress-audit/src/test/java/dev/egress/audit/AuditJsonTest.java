package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.ContainerId;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** Records to JSON lines and back, every written line valid under the published schema. */
class AuditJsonTest {
  static final AuditRecord.Refused SAMPLE =
      new AuditRecord.Refused(
          new RefusedPacket(
              Instant.parse("2026-11-30T14:02:11.123456Z"),
              IpAddresses.parse("10.213.0.5"),
              IpAddresses.parse("203.0.113.9"),
              PacketProtocol.TCP,
              443),
          ContainerId.of("c1"),
          Reason.NOT_IN_POLICY,
          "agent",
          HostName.of("exfil.example"));

  @Test
  void write_sample_isTheDocumentedLine() {
    String line = AuditJson.write(SAMPLE);

    assertEquals(
        "{\"version\":1,\"kind\":\"refused\",\"time\":\"2026-11-30T14:02:11.123456Z\","
            + "\"container\":\"c1\",\"source\":\"10.213.0.5\",\"destination\":\"203.0.113.9\","
            + "\"port\":443,\"protocol\":\"tcp\",\"verdict\":\"refused\","
            + "\"reason\":\"not-in-policy\",\"policy\":\"agent\",\"host\":\"exfil.example\"}",
        line);
    Schema.assertValid(line);
    assertEquals(SAMPLE, AuditJson.read(line));
  }

  @Test
  void write_icmpWithoutContainer_leavesAbsentValuesOut() {
    AuditRecord.Refused record =
        new AuditRecord.Refused(
            new RefusedPacket(
                Instant.parse("2026-11-30T14:02:11Z"),
                IpAddresses.parse("fd00::5"),
                IpAddresses.parse("2001:db8::9"),
                PacketProtocol.ICMPV6,
                null),
            null,
            Reason.GUARD_UNATTACHED,
            null,
            null);

    String line = AuditJson.write(record);

    assertFalse(line.contains("null"), line);
    assertFalse(line.contains("port"), line);
    Schema.assertValid(line);
    assertEquals(record, AuditJson.read(line));
  }

  @Test
  void read_refusesWhatIsNotARecordOfThisVersion() {
    String good = AuditJson.write(SAMPLE);
    for (String line :
        List.of(
            "",
            "[]",
            "not json",
            good.replace("\"version\":1", "\"version\":2"),
            good.replace("\"version\":1,", ""),
            good.replace("\"reason\":\"not-in-policy\"", "\"reason\":\"because\""),
            good.replace("\"protocol\":\"tcp\"", "\"protocol\":\"sctp\""),
            good.replace("\"verdict\":\"refused\"", "\"verdict\":\"allowed\""),
            good.replace("\"port\":443", "\"port\":0"),
            good.replace("\"port\":443,", ""),
            good.replace("\"source\":\"10.213.0.5\"", "\"source\":\"fd00::1\""),
            good.replace("\"container\":\"c1\"", "\"container\":\"c 1\""),
            good.replace("2026-11-30T14:02:11.123456Z", "yesterday"),
            good.replace("\"kind\":\"refused\"", "\"kind\":\"allowed\""),
            "{\"version\":1,\"kind\":\"dropped\",\"time\":\"2026-11-30T14:02:11Z\","
                + "\"cause\":\"rate-limit\",\"count\":0,\"since\":\"2026-11-30T14:02:10Z\"}",
            "x".repeat(AuditJson.MAX_LINE_LENGTH + 1))) {
      assertThrows(IllegalArgumentException.class, () -> AuditJson.read(line), line);
    }
  }

  @Test
  void schema_refusesWhatTheReaderRefuses() {
    String good = AuditJson.write(SAMPLE);
    for (String line :
        List.of(
            good.replace("\"version\":1", "\"version\":2"),
            good.replace("\"reason\":\"not-in-policy\"", "\"reason\":\"because\""),
            good.replace("\"port\":443,", ""),
            good.replace("\"port\":443", "\"port\":0"),
            good.replace("\"container\":\"c1\"", "\"container\":\"c 1\""),
            good.replace("\"destination\":\"203.0.113.9\"", "\"destination\":\"exfil.example\""),
            good.replace("}", ",\"extra\":1}"))) {
      assertFalse(Schema.errors(line).isEmpty(), line);
    }
  }

  @Test
  void schema_inDocs_isTheResource() throws IOException {
    try (InputStream in =
        Objects.requireNonNull(AuditJson.class.getResourceAsStream(AuditJson.SCHEMA_RESOURCE))) {
      assertEquals(
          Files.readString(Path.of("../docs/audit-record.schema.json")),
          new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  @Property(tries = 300)
  void everyRecord_roundTrips_andValidates(@ForAll("records") AuditRecord record) {
    String line = AuditJson.write(record);

    Schema.assertValid(line);
    assertEquals(record, AuditJson.read(line));
  }

  @Provide
  Arbitrary<AuditRecord> records() {
    Arbitrary<Instant> times =
        Arbitraries.longs()
            .between(0, 4_000_000_000L)
            .flatMap(
                s ->
                    Arbitraries.integers()
                        .between(0, 999_999)
                        .map(u -> Instant.ofEpochSecond(s, u * 1000L)));
    Arbitrary<ContainerId> containers =
        Arbitraries.strings()
            .withCharRange('!', '~')
            .ofMinLength(1)
            .ofMaxLength(200)
            .map(ContainerId::of)
            .injectNull(0.2);
    Arbitrary<Boolean> v6 = Arbitraries.of(true, false);
    Arbitrary<RefusedPacket> packets =
        Combinators.combine(
                times,
                v6,
                Arbitraries.bytes().array(byte[].class).ofSize(16),
                Arbitraries.of(PacketProtocol.values()),
                Arbitraries.integers().between(1, 65535))
            .as(
                (time, ipv6, bytes, protocol, port) -> {
                  int length = ipv6 ? 16 : 4;
                  byte[] source = java.util.Arrays.copyOf(bytes, length);
                  byte[] destination = java.util.Arrays.copyOfRange(bytes, 16 - length, 16);
                  PacketProtocol p =
                      protocol.hasPorts()
                          ? protocol
                          : ipv6 ? PacketProtocol.ICMPV6 : PacketProtocol.ICMP;
                  return new RefusedPacket(
                      time,
                      IpAddresses.fromBytes(source),
                      IpAddresses.fromBytes(destination),
                      p,
                      p.hasPorts() ? port : null);
                });
    Arbitrary<AuditRecord> refused =
        Combinators.combine(
                packets,
                containers,
                Arbitraries.of(Reason.values()),
                Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(20).injectNull(0.3),
                Arbitraries.of("api.example.com", "xn--bcher-kva.example", "a.b")
                    .map(HostName::of)
                    .injectNull(0.5))
            .as(AuditRecord.Refused::new);
    Arbitrary<AuditRecord> dropped =
        Combinators.combine(
                times,
                containers,
                Arbitraries.of(AuditRecord.DropCause.values()),
                Arbitraries.longs().between(1, Long.MAX_VALUE),
                Arbitraries.longs().between(0, 1_000_000))
            .as(
                (time, c, cause, count, back) ->
                    new AuditRecord.Dropped(time, c, cause, count, time.minusSeconds(back)));
    return Arbitraries.oneOf(refused, dropped);
  }
}
