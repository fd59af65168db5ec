package dev.egress.daemon;

import static dev.egress.daemon.ProtocolTest.attach;
import static dev.egress.daemon.ProtocolTest.container;
import static dev.egress.daemon.ProtocolTest.data;
import static dev.egress.daemon.ProtocolTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.Subject;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon around its commands: the state file that a restart takes over, policy files re-read
 * and pushed, health checks reported by status, and what a failure of each leaves behind.
 */
class LifecycleTest {
  private static final String POLICY = ProtocolTest.POLICY;

  @TempDir Path directory;
  TestDaemon daemon;

  @AfterEach
  void stop() {
    if (daemon != null) {
      daemon.close();
    }
  }

  private JsonNode status() throws IOException {
    return data(daemon.request("{\"id\":\"s\",\"command\":\"status\"}"));
  }

  private static String problems(JsonNode status) {
    return status.get("health").get("problems").toString();
  }

  @Nested
  class Restart {
    @Test
    void aRestartedDaemon_takesOverEveryAttachment_withItsPolicyNameAndTime() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));
      daemon.request(
          attach(2, "{\"id\":\"c2\",\"addresses\":[\"10.213.0.6\",\"fd00::6\"]}", text(POLICY)));
      JsonNode before = status().get("attachments");
      daemon.close();

      daemon = TestDaemon.start(directory);

      assertEquals(before, status().get("attachments"));
      assertEquals(2, daemon.enforcer.attachments().size(), "attached again in the new enforcer");
    }

    @Test
    void detachedAndReconciledContainers_areNotTakenOver() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      daemon.request(attach(2, container("c2", 6), text(POLICY)));
      daemon.request(attach(3, container("c3", 7), text(POLICY)));
      daemon.request("{\"id\":4,\"command\":\"detach\",\"args\":{\"containerId\":\"c2\"}}");
      daemon.request(
          "{\"id\":5,\"command\":\"reconcile\",\"args\":{\"liveContainerIds\":[\"c1\",\"c2\"]}}");
      daemon.close();

      daemon = TestDaemon.start(directory);

      assertEquals(1, status().get("attachments").size());
      assertEquals("c1", status().get("attachments").get(0).get("container").get("id").asText());
    }

    @Test
    void aStateFileThatCannotBeRead_stopsTheStart_namingTheFile() throws Exception {
      Path state = directory.resolve("run/state.json");
      Files.createDirectories(state.getParent());
      Files.writeString(state, "{\"egressdState\":1,\"attachments\":[{\"container\":{}}]}");

      IOException e = assertThrows(IOException.class, () -> TestDaemon.start(directory));

      assertTrue(e.getMessage().contains(state.toString()), e.getMessage());
      assertEquals("the state file " + state + ": missing field 'container.id'", e.getMessage());
      assertFalse(Files.exists(directory.resolve("run/egressd.sock")), "nothing listens");
    }

    @Test
    void anAttachmentThatCannotBeTakenOver_isReported_andTheOthersServed() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.request(attach(1, container("c1", 5), text(POLICY)));
      daemon.request(attach(2, container("c2", 6), text("allow gateway port 3001\\ndns none\\n")));
      daemon.close();
      // The saved gateway of c2 is lost: its policy, which uses the gateway, cannot be attached.
      Path state = directory.resolve("run/state.json");
      ObjectMapper json = new ObjectMapper();
      JsonNode saved = json.readTree(state.toFile());
      ((ObjectNode) saved.get("attachments").get(1).get("container")).remove("gateway");
      json.writeValue(state.toFile(), saved);

      daemon = TestDaemon.start(directory);

      JsonNode status = status();
      assertEquals(1, status.get("attachments").size());
      assertTrue(
          problems(status).contains("could not take over the attachment of c2"), problems(status));
    }

    @Test
    void aStateFileThatCannotBeWritten_failsTheAttach_asEnforcementFailed() throws Exception {
      // /proc holds no state file, so there is none to read, and takes no new file, even from root.
      daemon = TestDaemon.start(directory, "state-file /proc/egressd-test-state.json\n");

      JsonNode answer = daemon.request(attach(1, container("c1", 5), text(POLICY)));

      ProtocolTest.assertError(answer, 1, "enforcement-failed");
      assertTrue(
          answer.get("error").get("message").asText().contains("would lose track of it"),
          answer.toString());
      assertTrue(problems(status()).contains("cannot be written"), problems(status()));
    }
  }

  @Nested
  class PolicyFiles {
    @Test
    void aChangedPolicyFile_isPushedToEveryAttachmentThatUsesIt() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));
      daemon.request(attach(2, container("c2", 6), "{\"name\":\"agent\"}"));
      daemon.request(attach(3, container("c3", 7), text(POLICY)));
      try (LineClient subscriber = daemon.connect()) {
        subscriber.request("{\"id\":1,\"command\":\"subscribe\"}");

        daemon.writePolicy("agent", "allow 192.0.2.99 port 443\ndns none\n");
        daemon.daemon.reloadPolicies().get();

        List<String> updated =
            List.of(
                subscriber.next().get("event").get("containerId").asText(),
                subscriber.next().get("event").get("containerId").asText());
        assertEquals(List.of("c1", "c2"), updated.stream().sorted().toList());
      }
      JsonNode attachments = status().get("attachments");
      assertTrue(attachments.get(0).get("policy").get("text").asText().contains("192.0.2.99"));
      assertTrue(attachments.get(1).get("policy").get("text").asText().contains("192.0.2.99"));
      assertTrue(
          attachments.get(2).get("policy").get("text").asText().contains("192.0.2.10"),
          "attached by text: untouched");
    }

    @Test
    void aPolicyFileThatNoLongerParses_keepsTheLastGoodPolicy_andIsReportedOnce() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));
      try (LineClient subscriber = daemon.connect()) {
        subscriber.request("{\"id\":1,\"command\":\"subscribe\"}");

        daemon.writePolicy("agent", "allow 192.0.2.10 prot 443\n");
        daemon.daemon.reloadPolicies().get();
        daemon.daemon.reloadPolicies().get(); // the same failure again: no second event

        JsonNode failed = subscriber.next().get("event");
        assertEquals("failed", failed.get("type").asText());
        assertEquals("reload", failed.get("operation").asText());
        assertEquals("c1", failed.get("containerId").asText());
        assertTrue(failed.get("message").asText().contains("agent.policy:1:18"), failed.toString());
        JsonNode status = status();
        assertTrue(
            status
                .get("attachments")
                .get(0)
                .get("policy")
                .get("text")
                .asText()
                .contains("port 443"));
        assertTrue(
            problems(status).contains("policy file agent.policy no longer reads"),
            problems(status));

        daemon.writePolicy("agent", "allow 192.0.2.11 port 443\ndns none\n");
        daemon.daemon.reloadPolicies().get();

        JsonNode updated = subscriber.next().get("event");
        assertEquals("updated", updated.get("type").asText(), "no second failed event came before");
        assertEquals("[]", problems(status()));
      }
    }

    @Test
    void aPolicyFileThatIsGone_keepsTheLastGoodPolicy() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));

      Files.delete(daemon.policies.resolve("agent.policy"));
      daemon.daemon.reloadPolicies().get();

      JsonNode status = status();
      assertEquals(1, status.get("attachments").size());
      assertTrue(problems(status).contains("no such file"), problems(status));
    }

    @Test
    void aPushThatFails_keepsThePreviousPolicy_andIsReported() throws Exception {
      daemon = TestDaemon.start(directory);
      daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));

      daemon.writePolicy("agent", "allow 192.0.2.99 port 443\ndns none\n");
      daemon.enforcer.failNextOperations(1);
      daemon.daemon.reloadPolicies().get();

      JsonNode status = status();
      assertTrue(
          status
              .get("attachments")
              .get(0)
              .get("policy")
              .get("text")
              .asText()
              .contains("192.0.2.10"));
      assertTrue(problems(status).contains("could not be pushed to c1"), problems(status));
    }

    @Test
    void theTimerReReadsPolicies() throws Exception {
      daemon = TestDaemon.start(directory, "policy-reload-period 1s\n");
      daemon.writePolicy("agent", "allow 192.0.2.10 port 443\ndns none\n");
      daemon.request(attach(1, container("c1", 5), "{\"name\":\"agent\"}"));

      daemon.writePolicy("agent", "allow 192.0.2.77 port 443\ndns none\n");

      long deadline = System.nanoTime() + 20_000_000_000L;
      String text;
      do {
        Thread.sleep(200);
        text = status().get("attachments").get(0).get("policy").get("text").asText();
      } while (!text.contains("192.0.2.77") && System.nanoTime() < deadline);
      assertTrue(text.contains("192.0.2.77"), text);
    }
  }

  @Nested
  class Health {
    @Test
    void whatTheHealthCheckCouldNotRepair_isReported_andClearedWhenFixed() throws Exception {
      List<List<EgressEvent.DriftDetected>> findings =
          new java.util.concurrent.CopyOnWriteArrayList<>();
      findings.add(
          List.of(
              new EgressEvent.DriftDetected(
                  Instant.now(), Subject.host(), "table inet egress is missing", false),
              new EgressEvent.DriftDetected(
                  Instant.now(), Subject.container(ContainerId.of("c1")), "reinstalled", true)));
      daemon =
          TestDaemon.start(
              directory,
              "health-check-period 1s\n",
              InMemoryEgressEnforcer.builder(),
              () -> findings.isEmpty() ? List.of() : findings.get(findings.size() - 1));

      String problems = problems(status());
      assertTrue(problems.contains("host: table inet egress is missing"), problems);
      assertFalse(problems.contains("reinstalled"), "repaired drift is no problem");

      findings.add(List.of());
      long deadline = System.nanoTime() + 20_000_000_000L;
      do {
        Thread.sleep(200);
        problems = problems(status());
      } while (!problems.equals("[]") && System.nanoTime() < deadline);
      assertEquals("[]", problems);
    }

    @Test
    void aHealthCheckThatThrows_isReported_andTheDaemonGoesOn() throws Exception {
      daemon =
          TestDaemon.start(
              directory,
              "",
              InMemoryEgressEnforcer.builder(),
              () -> {
                throw new IllegalStateException("nft vanished");
              });

      assertTrue(
          problems(status()).contains("the health check failed: nft vanished"), problems(status()));
    }
  }

  @Test
  void closing_stopsServing_andRemovesTheSocket_butNotTheAttachments() throws Exception {
    daemon = TestDaemon.start(directory);
    daemon.request(attach(1, container("c1", 5), text(POLICY)));

    daemon.close();

    assertFalse(Files.exists(daemon.socket));
    assertTrue(Files.readString(daemon.stateFile).contains("\"c1\""));
    daemon = null;
  }
}
