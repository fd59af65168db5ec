package dev.egress.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.egress.lab.DnsAnswer;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.testkit.LabRequirement;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * egressd as a process of its own, enforcing with nftables on the real kernel in a lab's host
 * namespace: two containers attached through the socket, the daemon killed with SIGKILL (their
 * rules stay: every probe is a real packet), started again (it takes both over), reconciled with
 * one id (the other's rules and open connection are gone), and stopped with SIGTERM (rules stay).
 * And its audit trail: refused packets as {@code denied} events and records of the audit file.
 * Needs root, nft, conntrack and tcpdump: skipped elsewhere, failed under {@code CI=true}.
 */
class DaemonRestartKernelTest {
  @TempDir Path directory;
  NetnsLab lab;
  Process daemon;

  @BeforeEach
  void startLab() throws Exception {
    lab = LabRequirement.startLab(2, "nft", "conntrack", "tcpdump");
    Files.createDirectories(directory.resolve("policies"));
    Files.writeString(
        directory.resolve("policies/web0.policy"),
        "allow " + IpAddresses.format(NetnsLab.web(0)) + " port 443\ndns none\n");
    Files.writeString(
        directory.resolve("egressd.conf"),
        "backend nftables\n"
            + "managed-network "
            + lab.containerNetworks().stream()
                .map(IpNetwork::toString)
                .collect(Collectors.joining(" "))
            + "\nguard-interfaces "
            + NetnsLab.BRIDGE
            + "\n"
            + "policy-directory "
            + directory.resolve("policies")
            + "\n"
            + "socket "
            + socket()
            + "\n"
            + "state-file "
            + directory.resolve("run/state.json")
            + "\n"
            + "allow-users root\n");
  }

  @AfterEach
  void stop() throws Exception {
    if (daemon != null) {
      daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (lab != null) {
      lab.close();
    }
  }

  private Path socket() {
    return directory.resolve("run/egressd.sock");
  }

  /** Starts egressd (this test's class path) in the lab's host namespace; waits for its socket. */
  private Process startDaemon() throws Exception {
    Path log = directory.resolve("egressd.log");
    List<String> command =
        lab.inHost(
            ProcessHandle.current().info().command().orElse("java"),
            "-cp",
            System.getProperty("java.class.path"),
            Egressd.class.getName(),
            "--config",
            directory.resolve("egressd.conf").toString());
    Process started =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      assertTrue(started.isAlive(), "egressd exited: " + Files.readString(log));
      try (LineClient probe = LineClient.connect(socket())) {
        probe.request("{\"id\":0,\"command\":\"version\"}");
        return started;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    throw new AssertionError("egressd did not listen within 60 s: " + Files.readString(log));
  }

  private JsonNode request(String json) throws IOException {
    try (LineClient client = LineClient.connect(socket())) {
      JsonNode answer = client.request(json);
      assertTrue(answer.get("ok").asBoolean(), answer.toString());
      return answer.get("data");
    }
  }

  private static String container(LabContainer container) {
    return "{\"id\":\""
        + container.id()
        + "\",\"addresses\":[\""
        + IpAddresses.format(container.ipv4())
        + "\",\""
        + IpAddresses.format(container.ipv6())
        + "\"],\"gateway\":\"10.77.0.1\"}";
  }

  private static void assertEnforced(
      LabContainer container, InetAddress allowed, InetAddress denied) {
    assertEquals(
        Outcome.REACHED, container.tcp(allowed, 443), container + " reaches its allowed host");
    assertEquals(Outcome.REFUSED, container.tcp(denied, 443), container + " is refused elsewhere");
    assertEquals(
        Outcome.REFUSED, container.tcp(allowed, 80), container + " is refused other ports");
  }

  @Test
  void killedDaemon_leavesRulesInPlace_andTheRestartedOneTakesOver_removingOnlyOnReconcile()
      throws Exception {
    LabContainer c1 = lab.container(1);
    LabContainer c2 = lab.container(2);
    InetAddress web0 = NetnsLab.web(0);
    InetAddress web1 = NetnsLab.web(1);
    daemon = startDaemon();
    request(
        "{\"id\":1,\"command\":\"attach\",\"args\":{\"container\":"
            + container(c1)
            + ",\"policy\":{\"name\":\"web0\"}}}");
    request(
        "{\"id\":2,\"command\":\"attach\",\"args\":{\"container\":"
            + container(c2)
            + ",\"policy\":{\"text\":\"allow "
            + IpAddresses.format(web1)
            + " port 443\\ndns none\\n\"}}}");
    assertEnforced(c1, web0, web1);
    assertEnforced(c2, web1, web0);
    assertEquals(Outcome.REACHED, c2.open("live", web1, 443));

    daemon.destroyForcibly(); // SIGKILL: no shutdown hook runs
    assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));

    assertEnforced(c1, web0, web1);
    assertEnforced(c2, web1, web0);
    assertEquals(Outcome.REACHED, c2.exchange("live"), "open connections survive too");

    daemon = startDaemon();
    JsonNode attachments = request("{\"id\":3,\"command\":\"status\"}").get("attachments");
    assertEquals(2, attachments.size(), attachments.toString());
    assertEquals("c1", attachments.get(0).get("container").get("id").asText());
    assertEquals("web0", attachments.get(0).get("policy").get("name").asText());
    assertEquals("c2", attachments.get(1).get("container").get("id").asText());
    assertTrue(
        attachments.get(1).get("policy").get("text").asText().contains(IpAddresses.format(web1)));
    assertEnforced(c1, web0, web1);
    assertEnforced(c2, web1, web0);
    assertEquals(Outcome.REACHED, c2.exchange("live"), "taking over does not cut connections");

    JsonNode reconciled =
        request("{\"id\":4,\"command\":\"reconcile\",\"args\":{\"liveContainerIds\":[\"c1\"]}}");

    assertEquals("[\"c2\"]", reconciled.get("detached").toString());
    assertEnforced(c1, web0, web1);
    assertNotEquals(Outcome.REACHED, c2.exchange("live"), "c2's connection is cut");
    assertEquals(Outcome.REFUSED, c2.tcp(web1, 443), "c2 is back under the guard");
    assertEquals(Outcome.REFUSED, c2.tcp(web0, 443));

    daemon.destroy(); // SIGTERM: stops serving, leaves the rules
    assertTrue(daemon.waitFor(30, TimeUnit.SECONDS));
    assertFalse(Files.exists(socket()), "the socket is removed");
    assertEnforced(c1, web0, web1);
    assertEquals(Outcome.REFUSED, c2.tcp(web1, 443));
  }

  @Test
  void auditFile_refusedPackets_areDeniedEventsOfSubscribers_andRecordsOfTheFile()
      throws Exception {
    LabContainer c1 = lab.container(1);
    LabContainer c2 = lab.container(2);
    Path auditFile = directory.resolve("log/audit.jsonl");
    Files.createDirectories(auditFile.getParent());
    Files.writeString(
        directory.resolve("egressd.conf"),
        Files.readString(directory.resolve("egressd.conf")) + "audit-file " + auditFile + "\n");
    daemon = startDaemon();
    request(
        "{\"id\":1,\"command\":\"attach\",\"args\":{\"container\":"
            + container(c1)
            + ",\"policy\":{\"text\":\"allow "
            + IpAddresses.format(NetnsLab.web(0))
            + " port 443\\ndns none\\nlog denied\\n\"}}}");
    try (LineClient subscriber = LineClient.connect(socket())) {
      assertTrue(subscriber.request("{\"id\":2,\"command\":\"subscribe\"}").get("ok").asBoolean());

      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
      assertEquals(Outcome.REFUSED, c2.tcp(NetnsLab.web(1), 80)); // c2 is not attached

      // Each reason has its own reader: the two events may come in either order.
      Map<String, JsonNode> denied =
          deniedEvents(subscriber, Set.of("not-in-policy", "guard-unattached"));
      JsonNode ofC1 = denied.get("not-in-policy");
      assertEquals("c1", ofC1.get("containerId").asText(), ofC1.toString());
      assertTrue(ofC1.get("ruleSet").asText().startsWith("c_c1_"), ofC1.toString());
      assertEquals(IpAddresses.format(c1.ipv4()), ofC1.get("source").asText());
      assertEquals(IpAddresses.format(NetnsLab.web(1)), ofC1.get("destination").asText());
      assertEquals(443, ofC1.get("port").asInt());
      assertEquals("tcp", ofC1.get("protocol").asText());
      JsonNode unattached = denied.get("guard-unattached");
      assertFalse(unattached.has("containerId"), unattached.toString());
      assertEquals(IpAddresses.format(c2.ipv4()), unattached.get("source").asText());
      assertEquals(80, unattached.get("port").asInt());
    }

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.exists(auditFile) || Files.readAllLines(auditFile).size() < 2) {
      assertTrue(System.nanoTime() < deadline, "the audit file has no two records");
      Thread.sleep(100);
    }
    List<String> lines = Files.readAllLines(auditFile);
    assertTrue(
        lines.stream().anyMatch(line -> line.contains("\"container\":\"c1\"")), lines.toString());
    assertTrue(
        lines.stream().anyMatch(line -> line.contains("\"reason\":\"guard-unattached\"")),
        lines.toString());
  }

  @Test
  void dnsFilter_answersAnAllowedName_whichThenConnects_refusesAnother_andDetachTakesTheGrants()
      throws Exception {
    InetAddress filter = IpAddresses.parse("10.76.0.53");
    lab.exec(lab.hostNamespace(), "ip", "address", "add", "10.76.0.53/32", "dev", "lo");
    lab.names().set("api.example.test", Duration.ofSeconds(30), NetnsLab.web(0));
    lab.names().set("img.cdn.example.test", Duration.ofSeconds(30), NetnsLab.web(1));
    lab.names().set("evil.example.test", Duration.ofSeconds(30), NetnsLab.web(2));
    Files.writeString(
        directory.resolve("egressd.conf"),
        Files.readString(directory.resolve("egressd.conf"))
            + "resolver-servers "
            + IpAddresses.format(NetnsLab.dnsServer())
            + "\ndns-filter "
            + IpAddresses.format(filter)
            + "\n");
    LabContainer c1 = lab.container(1);
    String attach =
        "{\"id\":1,\"command\":\"attach\",\"args\":{\"container\":"
            + container(c1)
            + ",\"policy\":{\"text\":\"allow api.example.test port 443\\n"
            + "allow *.cdn.example.test port 443\\ndns filter\\n\"}}}";
    daemon = startDaemon();
    request(attach);
    try (LineClient subscriber = LineClient.connect(socket())) {
      assertTrue(subscriber.request("{\"id\":2,\"command\":\"subscribe\"}").get("ok").asBoolean());

      assertEquals(
          new DnsAnswer(Outcome.REACHED, "NOERROR", List.of(NetnsLab.web(0))),
          c1.resolve(filter, "api.example.test"));
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443), "nothing granted the wildcard");
      assertEquals(
          new DnsAnswer(Outcome.REACHED, "NOERROR", List.of(NetnsLab.web(1))),
          c1.resolve(NetnsLab.otherDnsServer(), "img.cdn.example.test"),
          "a query to another resolver is answered by the filter");
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(1), 443));
      int before = lab.internetDnsQueries("evil.example.test");
      assertEquals(
          new DnsAnswer(Outcome.REACHED, "NXDOMAIN", List.of()),
          c1.resolve(filter, "evil.example.test"));
      assertEquals(before, lab.internetDnsQueries("evil.example.test"), "nothing went upstream");
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(2), 443));

      JsonNode refused = dnsQueryEvent(subscriber, "evil.example.test");
      assertEquals("c1", refused.get("containerId").asText(), refused.toString());
      assertEquals("refused-name", refused.get("verdict").asText(), refused.toString());
      assertEquals("[]", refused.get("granted").toString());
    }

    request("{\"id\":3,\"command\":\"detach\",\"args\":{\"containerId\":\"c1\"}}");
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
    request(attach.replace("\"id\":1", "\"id\":4"));
    assertEquals(
        Outcome.REFUSED,
        c1.tcp(NetnsLab.web(1), 443),
        "the wildcard's grant went with the detach: attached again, its set starts empty");
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443), "the exact name is resolved");
  }

  /** The first {@code dns-query} event for {@code name}, skipping the other events. */
  private static JsonNode dnsQueryEvent(LineClient subscriber, String name) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      assertTrue(System.nanoTime() < deadline, "a dns-query event for " + name + " within 30 s");
      JsonNode event = subscriber.next().get("event");
      if (event.get("type").asText().equals("dns-query")
          && event.get("name").asText().equals(name)) {
        return event;
      }
    }
  }

  /** The first {@code denied} event of each of {@code reasons}, skipping the other events. */
  private static Map<String, JsonNode> deniedEvents(LineClient subscriber, Set<String> reasons) {
    Map<String, JsonNode> found = new HashMap<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!found.keySet().equals(reasons)) {
      assertTrue(System.nanoTime() < deadline, "denied events within 30 s: " + found);
      JsonNode event = subscriber.next().get("event");
      String reason = event.path("reason").asText();
      if (event.get("type").asText().equals("denied") && reasons.contains(reason)) {
        found.putIfAbsent(reason, event);
      }
    }
    return found;
  }
}
