package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.DnsAnswer;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.policy.IpAddresses;
import dev.egress.process.Command;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The lab without any filter: everything routes, servers answer, closing leaves nothing. */
class NetnsLabTest {
  private static NetnsLab lab;

  @BeforeAll
  static void start() throws IOException {
    lab = LabRequirement.startLab(2);
  }

  @AfterAll
  static void stop() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void container_withoutFilter_reachesInternetOverTcpUdpIcmpAndBothFamilies() {
    LabContainer c1 = lab.container(1);
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.webV6(1), 80));
    assertEquals(Outcome.REACHED, c1.udp(NetnsLab.web(2), NetnsLab.UDP_PORT));
    assertEquals(Outcome.REACHED, c1.udp(NetnsLab.webV6(0), NetnsLab.UDP_PORT));
    assertEquals(Outcome.REACHED, c1.ping(NetnsLab.web(1)));
    assertEquals(Outcome.REACHED, c1.tcp(lab.gateway(), 3001));
  }

  @Test
  void container_reachesTheHostOverTheLink_andTheHostReachesItsOwnAddresses() throws Exception {
    assertEquals(Outcome.REACHED, lab.container(1).tcpOnLink(lab.gatewayLinkLocal(), 2222));
    assertEquals(Outcome.REACHED, lab.hostTcp(lab.gateway(), 3001));
    assertEquals(Outcome.REACHED, lab.hostTcp(lab.gatewayV6(), 3001));
    assertTrue(
        Files.readString(lab.hostProcNet().resolve("route")).contains(NetnsLab.BRIDGE),
        "the host namespace's routes, with the bridge's network");
  }

  @Test
  void closedPort_isRefusedAtOnce_notTimedOut() {
    assertEquals(Outcome.REFUSED, lab.container(2).tcp(NetnsLab.web(0), 9));
  }

  @Test
  void dnsServer_answersWithTheLabRecords_andFollowsChanges() throws IOException {
    lab.names().set("api.example.test", Duration.ofSeconds(5), NetnsLab.web(0));
    assertEquals(
        Outcome.REACHED, lab.container(1).dnsQuery(NetnsLab.dnsServer(), "api.example.test"));
    assertEquals(
        Outcome.REACHED, lab.container(1).dnsQuery(NetnsLab.otherDnsServer(), "nope.example.test"));
  }

  @Test
  void resolve_returnsTheResponseCodeAndAddresses_andTheInternetCountsItsQueries()
      throws IOException {
    lab.names().set("count.example.test", Duration.ofSeconds(5), NetnsLab.web(1));
    int before = lab.internetDnsQueries("count.example.test");

    DnsAnswer found = lab.container(1).resolve(NetnsLab.dnsServer(), "count.example.test");
    DnsAnswer missing = lab.container(1).resolve(NetnsLab.otherDnsServer(), "nope2.example.test");

    assertEquals(new DnsAnswer(Outcome.REACHED, "NOERROR", List.of(NetnsLab.web(1))), found);
    assertEquals(new DnsAnswer(Outcome.REACHED, "NXDOMAIN", List.of()), missing);
    assertEquals(before + 1, lab.internetDnsQueries("count.example.test"));
    assertEquals(1, lab.internetDnsQueries("nope2.example.test"));
  }

  @Test
  void heldConnection_echoesUntilClosed() {
    LabContainer c2 = lab.container(2);
    assertEquals(Outcome.REACHED, c2.open("held", NetnsLab.web(1), 8443));
    assertEquals(Outcome.REACHED, c2.exchange("held"));
  }

  @Test
  void acceptedCount_growsWithEachConnection() throws Exception {
    int before = lab.acceptedOnInternet(80);
    assertEquals(Outcome.REACHED, lab.container(1).tcp(NetnsLab.web(0), 80));
    // The server's accept() runs after the handshake the probe saw: give it a moment.
    boolean counted = false;
    for (int attempt = 0; attempt < 50 && !counted; attempt++) {
      counted = lab.acceptedOnInternet(80) > before;
      if (!counted) {
        Thread.sleep(20);
      }
    }
    assertTrue(counted, "the echo server should have counted the connection");
  }

  @Test
  void udpBurst_andForgedSources_reachTheInternet_bothFamilies() throws Exception {
    LabContainer c2 = lab.container(2);
    int before = lab.receivedOnInternet(3478);
    c2.udpBurst(NetnsLab.web(2), 3478, 200);
    c2.udpFromForged(IpAddresses.parse("10.66.0.9"), NetnsLab.web(2), 3478);
    c2.udpFromForged(IpAddresses.parse("fd00:66::9"), NetnsLab.webV6(2), 3478);
    c2.udpFromForged(IpAddresses.parse("10.66.0.9"), NetnsLab.web(2), 3478); // added once
    awaitReceived(3478, before + 203);
    assertEquals(
        "    inet 10.66.0.9/32 scope global eth0",
        lab.exec(c2.namespace(), "ip", "-4", "address", "show", "dev", "eth0")
            .lines()
            .filter(line -> line.contains("10.66.0.9"))
            .reduce((a, b) -> a + "\n" + b)
            .orElseThrow());
  }

  private static void awaitReceived(int port, int count) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (lab.receivedOnInternet(port) < count) {
      assertTrue(System.nanoTime() < deadline, "received " + lab.receivedOnInternet(port));
      Thread.sleep(20);
    }
    assertEquals(count, lab.receivedOnInternet(port));
  }

  @Test
  void close_removesEveryNamespace() throws Exception {
    NetnsLab other = NetnsLab.start(1);
    String ns = other.hostNamespace();
    other.close();
    String list =
        new SystemProcessRunner()
            .run(new Command(List.of("ip", "netns", "list"), Duration.ofSeconds(5)))
            .stdout();
    assertFalse(list.contains(ns.replace("-h", "")), list);
  }
}
