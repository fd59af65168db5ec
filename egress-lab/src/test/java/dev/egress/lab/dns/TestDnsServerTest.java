package dev.egress.lab.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.dns.TestDnsServer.Behaviour;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

class TestDnsServerTest {
  private TestDnsServer server;
  private SimpleResolver udp;
  private SimpleResolver tcp;

  @BeforeEach
  void start() throws IOException {
    server = TestDnsServer.start();
    udp = new SimpleResolver(server.address());
    udp.setTimeout(Duration.ofMillis(500));
    tcp = new SimpleResolver(server.address());
    tcp.setTCP(true);
    tcp.setTimeout(Duration.ofSeconds(2));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void start_bindsLoopbackOnAnEphemeralPort() {
    assertTrue(server.address().getAddress().isLoopbackAddress());
    assertTrue(server.address().getPort() > 0);
  }

  @Test
  void query_overUdpAndTcp_answersTheRecordsWithTheirTtl() throws IOException {
    server.setAddresses("api.example.com", Duration.ofSeconds(42), "192.0.2.1", "2001:db8::1");

    Message overUdp = udp.send(query("api.example.com", Type.A));
    Message overTcp = tcp.send(query("API.Example.com.", Type.AAAA));

    Record a = overUdp.getSection(Section.ANSWER).get(0);
    assertEquals(InetAddress.getByName("192.0.2.1"), ((ARecord) a).getAddress());
    assertEquals(42, a.getTTL());
    assertEquals(
        InetAddress.getByName("2001:db8::1"),
        ((AAAARecord) overTcp.getSection(Section.ANSWER).get(0)).getAddress());
    assertEquals(1, server.queries("api.example.com", Type.A));
    assertEquals(1, server.queries("api.example.com", Type.AAAA));
    assertEquals(2, server.queries("api.example.com"));
    assertEquals(2, server.totalQueries());
  }

  @Test
  void query_forACname_answersTheChain() throws IOException {
    server.setCname("www.example.com", "edge.example.net", Duration.ofSeconds(300));
    server.setAddresses("edge.example.net", Duration.ofSeconds(20), "192.0.2.9");

    List<Record> answer = udp.send(query("www.example.com", Type.A)).getSection(Section.ANSWER);

    assertEquals(2, answer.size());
    assertEquals(Name.fromString("edge.example.net."), ((CNAMERecord) answer.get(0)).getTarget());
    assertEquals(InetAddress.getByName("192.0.2.9"), ((ARecord) answer.get(1)).getAddress());
  }

  @Test
  void query_unknownName_isNxdomain_andKnownNameWithoutTheType_isNodata() throws IOException {
    server.setAddresses("v4only.example.com", Duration.ofSeconds(60), "192.0.2.1");

    assertEquals(Rcode.NXDOMAIN, udp.send(query("nowhere.example.com", Type.A)).getRcode());
    Message nodata = udp.send(query("v4only.example.com", Type.AAAA));
    assertEquals(Rcode.NOERROR, nodata.getRcode());
    assertTrue(nodata.getSection(Section.ANSWER).isEmpty());
  }

  @Test
  void behaviours_servfailNxdomainRefusedAndDrop() throws IOException {
    server.setAddresses("api.example.com", Duration.ofSeconds(60), "192.0.2.1");

    server.setBehaviour("api.example.com", Behaviour.SERVFAIL);
    assertEquals(Rcode.SERVFAIL, udp.send(query("api.example.com", Type.A)).getRcode());
    server.setBehaviour("api.example.com", Behaviour.NXDOMAIN);
    assertEquals(Rcode.NXDOMAIN, udp.send(query("api.example.com", Type.A)).getRcode());
    server.setBehaviour("api.example.com", Behaviour.REFUSED);
    assertEquals(Rcode.REFUSED, udp.send(query("api.example.com", Type.A)).getRcode());
    server.setBehaviour("api.example.com", Behaviour.DROP);
    assertThrows(IOException.class, () -> udp.send(query("api.example.com", Type.A)));
    server.setBehaviour("api.example.com", Behaviour.ANSWER);
    assertEquals(Rcode.NOERROR, udp.send(query("api.example.com", Type.A)).getRcode());
    assertEquals(5, server.queries("api.example.com", Type.A), "the REFUSED query counts too");
  }

  @Test
  void changedRecords_areAnsweredFromTheNextQuery() throws IOException {
    server.setAddresses("api.example.com", Duration.ofSeconds(60), "192.0.2.1");
    udp.send(query("api.example.com", Type.A));
    server.setAddresses("api.example.com", Duration.ofSeconds(60), "192.0.2.2", "192.0.2.3");

    Set<InetAddress> now =
        udp.send(query("api.example.com", Type.A)).getSection(Section.ANSWER).stream()
            .map(record -> ((ARecord) record).getAddress())
            .collect(Collectors.toSet());

    assertEquals(
        Set.of(InetAddress.getByName("192.0.2.2"), InetAddress.getByName("192.0.2.3")), now);
  }

  @Test
  void delay_holdsEachAnswerButAnswersConcurrently() throws Exception {
    server.setAddresses("api.example.com", Duration.ofSeconds(60), "192.0.2.1");
    server.setDelay(Duration.ofMillis(300));
    udp.setTimeout(Duration.ofSeconds(2));

    long start = System.nanoTime();
    var first = udp.sendAsync(query("api.example.com", Type.A)).toCompletableFuture();
    var second = udp.sendAsync(query("api.example.com", Type.AAAA)).toCompletableFuture();
    first.get();
    second.get();
    long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

    assertTrue(elapsedMillis >= 300, "answered after the delay: " + elapsedMillis + " ms");
  }

  @Test
  void largeAnswer_isTruncatedOverUdpAndWholeOverTcp() throws IOException {
    List<String> many =
        java.util.stream.IntStream.range(1, 60)
            .mapToObj(i -> "192.0.2." + i)
            .collect(Collectors.toList());
    server.setAddresses("big.example.com", Duration.ofSeconds(60), many);
    udp.setIgnoreTruncation(true);

    Message truncated = udp.send(query("big.example.com", Type.A));
    Message whole = tcp.send(query("big.example.com", Type.A));

    assertTrue(truncated.getHeader().getFlag(org.xbill.DNS.Flags.TC));
    assertEquals(59, whole.getSection(Section.ANSWER).size());
  }

  @Test
  void loadZone_replacesEverything() throws IOException {
    server.setAddresses("old.example.com", Duration.ofSeconds(60), "192.0.2.1");

    server.loadZone("new.example.com 30 A 192.0.2.2\nbroken.example.com SERVFAIL\n");

    assertEquals(Rcode.NXDOMAIN, udp.send(query("old.example.com", Type.A)).getRcode());
    assertEquals(Rcode.NOERROR, udp.send(query("new.example.com", Type.A)).getRcode());
    assertEquals(Rcode.SERVFAIL, udp.send(query("broken.example.com", Type.A)).getRcode());
  }

  @Test
  void setAddresses_rejectsNamesAsAddresses() {
    assertThrows(
        IllegalArgumentException.class,
        () -> server.setAddresses("api.example.com", Duration.ofSeconds(60), "cafe"));
  }

  private static Message query(String name, int type) throws IOException {
    return Message.newQuery(
        Record.newRecord(
            Name.fromString(name.endsWith(".") ? name : name + "."),
            type,
            org.xbill.DNS.DClass.IN));
  }
}
