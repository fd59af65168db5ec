package dev.egress.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command and every error code of the protocol over the real socket, against a daemon whose
 * enforcer is the in-memory fake: what a client sends and what it gets back, byte for byte where
 * the contract says so.
 */
class ProtocolTest {
  static final String POLICY = "allow 192.0.2.10 port 443\\ndns none\\n";
  static final String OTHER_POLICY = "allow 192.0.2.20 port 8443\\ndns none\\n";

  @TempDir Path directory;
  TestDaemon daemon;

  @BeforeEach
  void start() throws Exception {
    daemon = TestDaemon.start(directory);
    daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
  }

  @AfterEach
  void stop() {
    if (daemon != null) {
      daemon.close();
    }
  }

  static String container(String id, int host) {
    return "{\"id\":\""
        + id
        + "\",\"addresses\":[\"10.213.0."
        + host
        + "\"],\"gateway\":\"10.213.0.1\"}";
  }

  static String attach(Object id, String container, String policy) {
    return "{\"id\":"
        + json(id)
        + ",\"command\":\"attach\",\"args\":{\"container\":"
        + container
        + ",\"policy\":"
        + policy
        + "}}";
  }

  static String text(String policy) {
    return "{\"text\":\"" + policy + "\"}";
  }

  static String json(Object id) {
    return id instanceof String ? "\"" + id + "\"" : String.valueOf(id);
  }

  static void assertError(JsonNode answer, Object id, String code) {
    assertEquals(
        id instanceof String ? "\"" + id + "\"" : String.valueOf(id),
        answer.get("id").toString(),
        answer.toString());
    assertFalse(answer.get("ok").asBoolean(), answer.toString());
    assertEquals(code, answer.get("error").get("code").asText(), answer.toString());
    assertTrue(answer.get("error").get("message").asText().length() > 10, answer.toString());
  }

  static JsonNode data(JsonNode answer) {
    assertTrue(answer.get("ok").asBoolean(), answer.toString());
    return answer.get("data");
  }

  @Nested
  class Commands {
    @Test
    void version_reportsProtocolOne_theDaemonAndTheBackend() throws Exception {
      JsonNode answer = daemon.request("{\"id\":1,\"command\":\"version\"}");

      assertEquals(1, answer.get("id").asInt());
      assertEquals(
          "{\"protocol\":1,\"egressd\":\"0.1.0\",\"backend\":\"nftables\"}",
          data(answer).toString());
    }

    @Test
    void attach_byText_answersTheRuleSetAndTheCanonicalPolicy_withoutName() throws Exception {
      JsonNode data = data(daemon.request(attach("a", container("c1", 5), text(POLICY))));

      assertEquals("c1", data.get("containerId").asText());
      assertEquals("mem-c1", data.get("ruleSet").asText());
      assertEquals(
          "{\"text\":\"allow 192.0.2.10 port 443 proto tcp\\ndns none\\n\"}",
          data.get("policy").toString());
      InetAddress source = IpAddresses.parse("10.213.0.5");
      assertTrue(
          daemon.enforcer.wouldAllow(source, Flow.tcp(IpAddresses.parse("192.0.2.10"), 443)));
      assertFalse(
          daemon.enforcer.wouldAllow(source, Flow.tcp(IpAddresses.parse("192.0.2.11"), 443)));
    }

    @Test
    void attach_byName_readsThePolicyFile() throws Exception {
      JsonNode data = data(daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}")));

      assertEquals("agent", data.get("policy").get("name").asText());
      assertEquals(
          "allow 192.0.2.10 port 443 proto tcp\ndns none\n",
          data.get("policy").get("text").asText());
    }

    @Test
    void attach_again_withTheSameEndpoint_updates_andKeepsTheAttachTime() throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      String before =
          data(daemon.request("{\"id\":2,\"command\":\"status\"}"))
              .get("attachments")
              .get(0)
              .get("attachedAt")
              .asText();
      Thread.sleep(5);

      JsonNode data = data(daemon.request(attach(3, container("c1", 5), text(OTHER_POLICY))));

      assertTrue(data.get("policy").get("text").asText().contains("192.0.2.20"));
      JsonNode attachments =
          data(daemon.request("{\"id\":4,\"command\":\"status\"}")).get("attachments");
      assertEquals(1, attachments.size());
      assertEquals(before, attachments.get(0).get("attachedAt").asText());
    }

    @Test
    void update_replacesThePolicy() throws Exception {
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));

      JsonNode data =
          data(
              daemon.request(
                  "{\"id\":2,\"command\":\"update\",\"args\":{\"containerId\":\"c1\",\"policy\":"
                      + text(OTHER_POLICY)
                      + "}}"));

      assertEquals("c1", data.get("containerId").asText());
      assertEquals(
          "{\"text\":\"allow 192.0.2.20 port 8443 proto tcp\\ndns none\\n\"}",
          data.get("policy").toString());
      JsonNode attachment =
          data(daemon.request("{\"id\":3,\"command\":\"status\"}")).get("attachments").get(0);
      assertFalse(attachment.get("policy").has("name"), "updated by text: no file name any more");
    }

    @Test
    void detach_saysWhetherItWasAttached() throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));

      assertEquals(
          "{\"containerId\":\"c1\",\"wasAttached\":true}",
          data(daemon.request(
                  "{\"id\":2,\"command\":\"detach\",\"args\":{\"containerId\":\"c1\"}}"))
              .toString());
      assertEquals(
          "{\"containerId\":\"c1\",\"wasAttached\":false}",
          data(daemon.request(
                  "{\"id\":3,\"command\":\"detach\",\"args\":{\"containerId\":\"c1\"}}"))
              .toString());
      assertTrue(daemon.enforcer.attachments().isEmpty());
    }

    @Test
    void reconcile_detachesWhatIsNotListed() throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      daemon.request(attach(2, container("c2", 6), text(POLICY)));

      JsonNode data =
          data(
              daemon.request(
                  "{\"id\":3,\"command\":\"reconcile\",\"args\":{\"liveContainerIds\":[\"c1\"]}}"));

      assertEquals(
          "{\"detached\":[\"c2\"],\"orphanRuleSetsRemoved\":[],\"repaired\":[]}", data.toString());
      JsonNode attachments =
          data(daemon.request("{\"id\":4,\"command\":\"status\"}")).get("attachments");
      assertEquals(1, attachments.size());
      assertEquals("c1", attachments.get(0).get("container").get("id").asText());
    }

    @Test
    void status_listsAttachments_resolver_health_andCounters() throws Exception {
      JsonNode data;
      // One connection for all three: a connection closed just before may not be counted closed
      // yet when the status is taken.
      try (LineClient client = daemon.connect()) {
        client.request(
            attach(
                1,
                "{\"id\":\"c1\",\"addresses\":[\"fd00:10:213:0:0:0:0:5\",\"10.213.0.5\"]}",
                "{\"name\":\"agent\"}"));
        client.request("{\"id\":2,\"command\":\"nope\"}");

        data = data(client.request("{\"id\":3,\"command\":\"status\"}"));
      }

      assertEquals(1, data.get("protocol").asInt());
      assertEquals("nftables", data.get("backend").asText());
      JsonNode attachment = data.get("attachments").get(0);
      assertEquals(
          "{\"id\":\"c1\",\"addresses\":[\"10.213.0.5\",\"fd00:10:213::5\"]}",
          attachment.get("container").toString(),
          "addresses canonical, IPv4 first; no gateway when none was given");
      assertEquals("mem-c1", attachment.get("ruleSet").asText());
      assertEquals("agent", attachment.get("policy").get("name").asText());
      assertTrue(
          attachment
              .get("attachedAt")
              .asText()
              .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"));
      assertEquals("{\"names\":[]}", data.get("resolver").toString());
      assertEquals("{\"problems\":[]}", data.get("health").toString());
      assertEquals(
          "{\"requests\":2,\"attaches\":1,\"detaches\":0,\"failures\":1,\"connections\":1,\"subscribers\":0}",
          data.get("counters").toString(),
          "totals before this request; connections open now");
    }

    @Test
    void check_answersASummary_orThePositionedProblems() throws Exception {
      assertEquals(
          "{\"valid\":true,\"summary\":\"1 allow rule, dns none, denials not logged\"}",
          data(daemon.request(
                  "{\"id\":1,\"command\":\"check\",\"args\":{\"text\":\"" + POLICY + "\"}}"))
              .toString());
      assertEquals(
          "{\"valid\":false,\"problems\":[{\"line\":2,\"column\":18,\"message\":\"expected 'port' after the destination, found 'prot'\"}]}",
          data(daemon.request(
                  "{\"id\":2,\"command\":\"check\",\"args\":{\"text\":\"dns none\\nallow 192.0.2.30 prot 443\\n\"}}"))
              .toString());
    }

    @Test
    void subscribe_streamsTheEnforcersEvents() throws Exception {
      try (LineClient subscriber = daemon.connect()) {
        assertEquals(
            "{\"id\":\"s\",\"ok\":true,\"data\":{\"subscribed\":true}}",
            subscriber.request("{\"id\":\"s\",\"command\":\"subscribe\"}").toString());

        daemon.request(attach(1, container("c1", 5), text(POLICY)));
        daemon.request(
            "{\"id\":2,\"command\":\"update\",\"args\":{\"containerId\":\"c1\",\"policy\":"
                + text(OTHER_POLICY)
                + "}}");
        daemon.request("{\"id\":3,\"command\":\"detach\",\"args\":{\"containerId\":\"c1\"}}");

        JsonNode attached = subscriber.next().get("event");
        assertEquals("attached", attached.get("type").asText());
        assertEquals("c1", attached.get("containerId").asText());
        assertEquals("mem-c1", attached.get("ruleSet").asText());
        assertEquals(
            "allow 192.0.2.10 port 443 proto tcp\ndns none\n", attached.get("policy").asText());
        assertTrue(attached.get("time").asText().endsWith("Z"));
        JsonNode updated = subscriber.next().get("event");
        assertEquals("updated", updated.get("type").asText());
        assertTrue(updated.get("policy").asText().contains("192.0.2.20"));
        JsonNode detached = subscriber.next().get("event");
        assertEquals("detached", detached.get("type").asText());
        assertEquals("c1", detached.get("containerId").asText());
        assertEquals(
            1,
            data(daemon.request("{\"id\":4,\"command\":\"status\"}"))
                .get("counters")
                .get("subscribers")
                .asInt());
      }
    }

    @Test
    void subscribe_linesSentAfterwards_areIgnored() throws Exception {
      try (LineClient subscriber = daemon.connect()) {
        subscriber.request("{\"id\":1,\"command\":\"subscribe\",\"args\":{}}");
        subscriber.send("{\"id\":2,\"command\":\"version\"}\nnot even json\n");
        daemon.request(attach(3, container("c1", 5), text(POLICY)));

        assertEquals("attached", subscriber.next().get("event").get("type").asText());
      }
    }
  }

  @Nested
  class ErrorCodes {
    @Test
    void invalidRequest_namesTheField_andKeepsTheConnection() throws Exception {
      try (LineClient client = daemon.connect()) {
        assertField(
            client.request(
                "{\"id\":1,\"command\":\"attach\",\"args\":{\"policy\":" + text(POLICY) + "}}"),
            1,
            "container");
        assertField(
            client.request(
                "{\"id\":2,\"command\":\"attach\",\"args\":{\"container\":"
                    + container("c1", 5)
                    + ",\"policy\":"
                    + text(POLICY)
                    + ",\"force\":true}}"),
            2,
            "force");
        assertField(
            client.request(
                attach(3, "{\"id\":\"c1\",\"addresses\":[\"10.0.0.300\"]}", text(POLICY))),
            3,
            "container.addresses");
        assertField(
            client.request(
                attach(4, "{\"id\":\"c 1\",\"addresses\":[\"10.213.0.5\"]}", text(POLICY))),
            4,
            "container.id");
        assertField(
            client.request(attach(5, "{\"id\":\"c1\",\"addresses\":[]}", text(POLICY))),
            5,
            "container.addresses");
        assertField(
            client.request(
                attach(6, "{\"id\":\"c1\",\"addresses\":[\"127.0.0.1\"]}", text(POLICY))),
            6,
            "container.addresses");
        assertField(
            client.request(attach(7, container("c1", 5), "{\"name\":\"../../etc/passwd\"}")),
            7,
            "policy.name");
        assertField(
            client.request(
                attach(8, container("c1", 5), "{\"name\":\"agent\",\"text\":\"dns none\"}")),
            8,
            "policy");
        assertField(
            client.request(attach(9, container("c1", 5), "{\"name\":\"missing\"}")),
            9,
            "policy.name");
        assertField(client.request("{\"id\":10,\"command\":\"version\",\"args\":[]}"), 10, "args");
        assertField(client.request("{\"id\":11,\"command\":\"version\",\"extra\":1}"), 11, "extra");
        assertField(
            client.request("{\"id\":12,\"command\":\"version\",\"args\":{\"verbose\":true}}"),
            12,
            "verbose");
        assertField(client.request("{\"id\":13}"), 13, "command");
        assertField(
            client.request(
                "{\"id\":14,\"command\":\"reconcile\",\"args\":{\"liveContainerIds\":\"c1\"}}"),
            14,
            "liveContainerIds");
        assertField(
            client.request(
                attach(
                    15,
                    "{\"id\":\"c1\",\"addresses\":[\"10.213.0.5\"]}",
                    "{\"text\":\"allow gateway port 3001\\ndns none\"}")),
            15,
            "container.gateway");
        assertEquals(
            1, data(client.request("{\"id\":16,\"command\":\"version\"}")).get("protocol").asInt());
      }
      assertTrue(daemon.enforcer.attachments().isEmpty(), "nothing invalid reached the enforcer");
    }

    private void assertField(JsonNode answer, int id, String field) {
      assertError(answer, id, "invalid-request");
      assertEquals(field, answer.get("error").get("field").asText(), answer.toString());
    }

    @Test
    void unknownCommand_namesIt() throws Exception {
      JsonNode answer = daemon.request("{\"id\":\"u\",\"command\":\"attach-all\"}");

      assertError(answer, "u", "unknown-command");
      assertEquals("attach-all", answer.get("error").get("command").asText());
    }

    @Test
    void invalidPolicy_positionsEveryProblem_andNamesTheSource() throws Exception {
      JsonNode byText =
          daemon.request(
              attach(1, container("c1", 5), text("allow 192.0.2.10 prot 443\\nlog everything\\n")));
      assertError(byText, 1, "invalid-policy");
      assertEquals("text", byText.get("error").get("source").asText());
      assertEquals(
          "[{\"line\":1,\"column\":18,\"message\":\"expected 'port' after the destination, found 'prot'\"},"
              + "{\"line\":2,\"column\":5,\"message\":\"expected 'denied' after 'log', found 'everything'\"}]",
          byText.get("error").get("problems").toString());
      assertEquals(
          "text:1:18: expected 'port' after the destination, found 'prot' (and 1 more)",
          byText.get("error").get("message").asText());

      daemon.writePolicy("broken", "allow 192.0.2.10 port 99999\n");
      JsonNode byName = daemon.request(attach(2, container("c1", 5), "{\"name\":\"broken\"}"));
      assertError(byName, 2, "invalid-policy");
      assertEquals("broken", byName.get("error").get("source").asText());
      assertTrue(
          byName.get("error").get("message").asText().startsWith("broken.policy:1:"),
          byName.toString());
      assertTrue(daemon.enforcer.attachments().isEmpty());
    }

    @Test
    void unsupportedPolicy_givesAHint() throws Exception {
      JsonNode answer =
          daemon.request(
              attach(1, container("c1", 5), text("allow *.example.com port 443\\ndns none\\n")));

      assertError(answer, 1, "unsupported-policy");
      assertTrue(answer.get("error").get("hint").asText().length() > 5, answer.toString());
    }

    @Test
    void conflict_forAnIdAttachedElsewhere_andForAnotherContainersAddress() throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));

      assertError(daemon.request(attach(2, container("c1", 6), text(POLICY))), 2, "conflict");
      assertError(daemon.request(attach(3, container("c2", 5), text(POLICY))), 3, "conflict");
      assertEquals(1, daemon.enforcer.attachments().size());
    }

    @Test
    void notAttached_namesTheContainer() throws Exception {
      JsonNode answer =
          daemon.request(
              "{\"id\":1,\"command\":\"update\",\"args\":{\"containerId\":\"ghost\",\"policy\":"
                  + text(POLICY)
                  + "}}");

      assertError(answer, 1, "not-attached");
      assertEquals("ghost", answer.get("error").get("containerId").asText());
    }

    @Test
    void enforcementFailed_whenTheKernelStateCannotBeInstalled_leavesNothingAttached()
        throws Exception {
      daemon.enforcer.failNextOperations(1);

      JsonNode answer = daemon.request(attach(1, container("c1", 5), text(POLICY)));

      assertError(answer, 1, "enforcement-failed");
      assertTrue(answer.get("error").get("hint").asText().length() > 5, answer.toString());
      assertEquals(
          "[]",
          data(daemon.request("{\"id\":2,\"command\":\"status\"}")).get("attachments").toString());
    }

    @Test
    void enforcementFailed_whenAnUpdateFails_keepsTheOldPolicy() throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      daemon.enforcer.failNextOperations(1);

      assertError(
          daemon.request(
              "{\"id\":2,\"command\":\"update\",\"args\":{\"containerId\":\"c1\",\"policy\":"
                  + text(OTHER_POLICY)
                  + "}}"),
          2,
          "enforcement-failed");

      JsonNode attachment =
          data(daemon.request("{\"id\":3,\"command\":\"status\"}")).get("attachments").get(0);
      assertTrue(attachment.get("policy").get("text").asText().contains("192.0.2.10"));
    }

    @Test
    void enforcementFailed_whenADetachFails_theContainerIsForgotten_andItsRulesAreRetried()
        throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      daemon.enforcer.failNextOperations(1);

      assertError(
          daemon.request("{\"id\":2,\"command\":\"detach\",\"args\":{\"containerId\":\"c1\"}}"),
          2,
          "enforcement-failed");

      assertEquals(
          "[]",
          data(daemon.request("{\"id\":3,\"command\":\"status\"}")).get("attachments").toString());
      assertFalse(
          daemon.enforcer.pendingRemovals().isEmpty(),
          "its rules stay (they only restrict) until removed");
    }

    @Test
    void enforcementFailed_whenReconcileFails() throws Exception {
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      daemon.enforcer.failNextOperations(5);

      assertError(
          daemon.request("{\"id\":2,\"command\":\"reconcile\",\"args\":{\"liveContainerIds\":[]}}"),
          2,
          "enforcement-failed");
    }

    @Test
    void internal_whenTheEnforcerFailsUnexpectedly() throws Exception {
      daemon.close();
      daemon = null;
      DaemonConfig config = ConfigText.parse(TestDaemon.config(directory, ""), "test.conf");
      Daemon broken =
          Daemon.start(
              config,
              events -> TestDaemon.hosted(new BrokenEnforcer(), List::of),
              java.time.Clock.systemUTC());
      try (LineClient client = LineClient.connect(directory.resolve("run/egressd.sock"))) {
        JsonNode answer = client.request(attach(1, container("c1", 5), text(POLICY)));

        assertError(answer, 1, "internal");
        assertTrue(
            answer.get("error").get("message").asText().contains("egressd's log"),
            answer.toString());
        assertEquals(
            1, data(client.request("{\"id\":2,\"command\":\"version\"}")).get("protocol").asInt());
      } finally {
        broken.close();
      }
    }

    @Test
    void permissionDenied_forAPeerNotAllowed_withIdNull_thenClosed() throws Exception {
      daemon.close();
      daemon = TestDaemon.start(directory.resolve("other"), "allow-users nobody\n");

      try (LineClient client = daemon.connect()) {
        JsonNode answer = client.next();

        assertEquals("null", answer.get("id").toString());
        assertEquals("permission-denied", answer.get("error").get("code").asText());
        assertTrue(
            answer.get("error").get("message").asText().contains("allowed users: nobody"),
            answer.toString());
        assertTrue(client.endsWithin(LineClient.TIMEOUT));
      }
    }
  }

  /** An enforcer with a bug: every attach throws what its SPI never throws. */
  static final class BrokenEnforcer implements dev.egress.enforcer.EgressEnforcer {
    @Override
    public dev.egress.enforcer.Attachment attach(
        dev.egress.enforcer.ContainerEndpoint container, dev.egress.policy.EgressPolicy policy) {
      throw new ArrayIndexOutOfBoundsException("a bug");
    }

    @Override
    public List<dev.egress.enforcer.Attachment> attachments() {
      return List.of();
    }

    @Override
    public java.util.Optional<java.net.InetAddress> dnsFilter() {
      return java.util.Optional.empty();
    }

    @Override
    public java.util.Map<ContainerId, dev.egress.enforcer.TrafficCounters> counters() {
      return java.util.Map.of();
    }

    @Override
    public dev.egress.enforcer.ReconcileResult reconcile(java.util.Set<ContainerId> live) {
      return new dev.egress.enforcer.ReconcileResult(java.util.Set.of(), java.util.Set.of());
    }

    @Override
    public void close() {}
  }

  @Test
  void severalRequestsInOneWrite_areAnsweredInOrder() throws Exception {
    StringBuilder requests = new StringBuilder();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      requests.append(attach("p" + i, container("p" + i, 10 + i), text(POLICY))).append('\n');
      ids.add("p" + i);
    }
    requests.append("{\"id\":\"bad\",\"command\":\"nope\"}\n");
    requests.append("{\"id\":\"d\",\"command\":\"detach\",\"args\":{\"containerId\":\"p0\"}}\n");
    requests.append("{\"id\":\"s\",\"command\":\"status\"}\n");
    try (LineClient client = daemon.connect()) {
      client.send(requests.toString());

      for (String id : ids) {
        JsonNode answer = client.next();
        assertEquals(id, answer.get("id").asText());
        assertEquals(id, data(answer).get("containerId").asText());
      }
      assertError(client.next(), "bad", "unknown-command");
      assertEquals("{\"containerId\":\"p0\",\"wasAttached\":true}", data(client.next()).toString());
      assertEquals(19, data(client.next()).get("attachments").size());
    }
  }

  @Test
  void idsAreEchoedAsSent_stringsAndIntegers() throws Exception {
    try (LineClient client = daemon.connect()) {
      assertEquals(
          "\"é 1\"",
          client.request("{\"id\":\"é 1\",\"command\":\"version\"}").get("id").toString());
      assertEquals(
          "-9223372036854775808",
          client
              .request("{\"id\":-9223372036854775808,\"command\":\"version\"}")
              .get("id")
              .toString());
      assertEquals("0", client.request("{\"command\":\"version\",\"id\":0}").get("id").toString());
    }
  }
}
