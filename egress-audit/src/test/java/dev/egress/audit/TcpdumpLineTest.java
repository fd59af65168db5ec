package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/** tcpdump's lines for NFLOG groups, as captured on a real kernel, into packets. */
class TcpdumpLineTest {

  static List<String> fixture(String name) throws IOException {
    try (InputStream in =
        Objects.requireNonNull(TcpdumpLineTest.class.getResourceAsStream(name), name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8)
          .lines()
          .filter(line -> !line.startsWith("#") && !line.isBlank())
          .toList();
    }
  }

  @Test
  void parseNflog_everyCapturedLine_givesTheProbedPacket() throws IOException {
    List<String> lines = fixture("nflog-q.txt");
    assertEquals(11, lines.size());
    for (String entry : lines) {
      String[] expected = entry.substring(0, entry.indexOf('\t')).split(" ");
      String line = entry.substring(entry.indexOf('\t') + 1);

      RefusedPacket packet = TcpdumpLine.parseNflog(line);

      assertNotNull(packet, line);
      assertEquals(expected[0], packet.protocol().wireName(), line);
      assertEquals(IpAddresses.parse(expected[1]), packet.source(), line);
      assertEquals(IpAddresses.parse(expected[2]), packet.destination(), line);
      assertEquals(
          expected[3].equals("-") ? null : Integer.valueOf(expected[3]),
          packet.destinationPort(),
          line);
      String time = line.substring(0, line.indexOf(' '));
      assertEquals(time, packet.time().getEpochSecond() + "." + micros(packet.time()), line);
    }
  }

  @Test
  void parseNflog_keepsMicroseconds() {
    RefusedPacket packet =
        TcpdumpLine.parseNflog("1796000250.000001 IP 10.77.0.2.49582 > 10.77.0.1.443: tcp 0");

    assertEquals(Instant.ofEpochSecond(1796000250L, 1000), Objects.requireNonNull(packet).time());
  }

  @Test
  void parseNflog_linesWhoseProtocolTcpdumpGuessed_areNotNamed() throws IOException {
    List<String> lines = fixture("nflog-unnamed.txt");
    assertFalse(lines.isEmpty());
    for (String line : lines) {
      assertNull(TcpdumpLine.parseNflog(line), line);
    }
  }

  @Test
  void parseNflog_malformedLines_areNotNamed() {
    for (String line :
        List.of(
            "",
            "listening on nflog:7, link-type NFLOG",
            "1796000250.216781 IP 10.77.0.2.49582 > 10.77.0.1.443: tcp",
            "1796000250.216781 IP 10.77.0.2.49582 > 10.77.0.1.0: tcp 0",
            "1796000250.216781 IP 10.77.0.2.49582 > 10.77.0.1.70000: tcp 0",
            "1796000250.216781 IP 10.77.0.2.49582 > fd77::1.443: tcp 0",
            "1796000250.216781 IP 10.77.0.2 > 10.77.0.1: ICMP6, echo request",
            "1796000250.216781 IP6 fd77::2 > fd77::1: ICMP echo request",
            "1796000250.2167 IP 10.77.0.2.49582 > 10.77.0.1.443: tcp 0",
            "1796000250.216781 IP 300.77.0.2.49582 > 10.77.0.1.443: tcp 0",
            "1796000250.216781 IP host.example.49582 > 10.77.0.1.443: tcp 0")) {
      assertNull(TcpdumpLine.parseNflog(line), line);
    }
  }

  private static String micros(Instant time) {
    return String.format("%06d", time.getNano() / 1000);
  }
}
