package dev.egress.daemon;

import static dev.egress.daemon.ProtocolTest.attach;
import static dev.egress.daemon.ProtocolTest.container;
import static dev.egress.daemon.ProtocolTest.data;
import static dev.egress.daemon.ProtocolTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a connection survives: lines cut anywhere, lines too long, bytes that are not UTF-8 or not
 * JSON, clients that vanish, many clients at once, more clients than allowed, a subscriber that
 * never reads. Each case ends by checking that the daemon still serves.
 */
class ConnectionTest {
  private static final String POLICY = ProtocolTest.POLICY;

  @TempDir Path directory;
  TestDaemon daemon;

  @AfterEach
  void stop() {
    if (daemon != null) {
      daemon.close();
    }
  }

  private void assertStillServing() throws IOException {
    assertEquals(
        1, data(daemon.request("{\"id\":1,\"command\":\"version\"}")).get("protocol").asInt());
  }

  /** The daemon answered {@code id: null} with invalid-request and closed the connection. */
  private static void assertRefusedAndClosed(LineClient client, String messagePart) {
    JsonNode answer = client.next();
    assertEquals("null", answer.get("id").toString(), answer.toString());
    assertEquals("invalid-request", answer.get("error").get("code").asText(), answer.toString());
    assertTrue(
        answer.get("error").get("message").asText().contains(messagePart), answer.toString());
    assertTrue(client.endsWithin(LineClient.TIMEOUT), "the connection is closed after the error");
  }

  @Test
  void aLineWrittenInParts_isAnsweredOnceComplete() throws Exception {
    daemon = TestDaemon.start(directory);
    try (LineClient client = daemon.connect()) {
      client.send("{\"id\":1,\"comm");
      Thread.sleep(200);
      client.send("and\":\"vers");
      Thread.sleep(200);
      client.send("ion\"}\n{\"id\":2,");
      assertEquals(1, client.next().get("id").asInt());
      client.send("\"command\":\"version\"}\n");
      assertEquals(2, client.next().get("id").asInt());
    }
  }

  @Test
  void aClientThatStopsInTheMiddleOfALine_isClosedQuietly() throws Exception {
    daemon = TestDaemon.start(directory);
    try (LineClient client = daemon.connect()) {
      client.send("{\"id\":1,\"command\":\"attach\",\"args\":{\"container\":");
    }
    assertStillServing();
    assertTrue(daemon.enforcer.attachments().isEmpty());
  }

  @Test
  void aTenMegabyteLine_isRefusedAsSoonAsItIsTooLong_andTheConnectionClosed() throws Exception {
    daemon = TestDaemon.start(directory);
    try (LineClient client = daemon.connect()) {
      byte[] line = new byte[10 * 1024 * 1024];
      Arrays.fill(line, (byte) 'a');
      line[line.length - 1] = '\n';
      Thread writer =
          new Thread(
              () -> {
                try {
                  client.write(line);
                } catch (IOException e) {
                  // the daemon closes the connection long before the line ends
                }
              });
      writer.start();

      assertRefusedAndClosed(client, "longer than 1048576 bytes");
      writer.join(TimeUnit.SECONDS.toMillis(30));
      assertFalse(writer.isAlive());
    }
    assertStillServing();
  }

  @Test
  void aLineOfExactlyTheLimit_isRead() throws Exception {
    daemon = TestDaemon.start(directory, "max-line-bytes 1KiB\n");
    String request = "{\"id\":1,\"command\":\"check\",\"args\":{\"text\":\"\"}}";
    String padded =
        request.replace(
            "\"text\":\"\"", "\"text\":\"" + "#".repeat(1024 - request.length()) + "\"");
    assertEquals(1024, padded.length());
    try (LineClient client = daemon.connect()) {
      assertTrue(data(client.request(padded)).get("valid").asBoolean());
      client.send(padded.replace("{\"id\":1", "{\"id\":12") + "\n");
      assertRefusedAndClosed(client, "longer than 1024 bytes");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"c3 28", "ed a0 80", "f8 88 80 80 80", "c0 af", "ff"})
  void bytesThatAreNotUtf8_areRefused_andTheConnectionClosed(String hex) throws Exception {
    daemon = TestDaemon.start(directory);
    byte[] bad = hexBytes(hex);
    byte[] prefix = "{\"id\":1,\"command\":\"".getBytes(StandardCharsets.UTF_8);
    byte[] suffix = "\"}\n".getBytes(StandardCharsets.UTF_8);
    byte[] line = new byte[prefix.length + bad.length + suffix.length];
    System.arraycopy(prefix, 0, line, 0, prefix.length);
    System.arraycopy(bad, 0, line, prefix.length, bad.length);
    System.arraycopy(suffix, 0, line, prefix.length + bad.length, suffix.length);
    try (LineClient client = daemon.connect()) {
      client.write(line);
      assertRefusedAndClosed(client, "not UTF-8");
    }
    assertStillServing();
  }

  private static byte[] hexBytes(String hex) {
    String[] parts = hex.split(" ");
    byte[] bytes = new byte[parts.length];
    for (int i = 0; i < parts.length; i++) {
      bytes[i] = (byte) Integer.parseInt(parts[i], 16);
    }
    return bytes;
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "not json",
        "[1,2]",
        "\"version\"",
        "null",
        "{\"command\":\"version\"}",
        "{\"id\":null,\"command\":\"version\"}",
        "{\"id\":1.0,\"command\":\"version\"}",
        "{\"id\":1e3,\"command\":\"version\"}",
        "{\"id\":9223372036854775808,\"command\":\"version\"}",
        "{\"id\":{\"a\":1},\"command\":\"version\"}",
        "{\"id\":1,\"command\":\"version\"} {\"id\":2}",
        "{\"id\":1,\"id\":2,\"command\":\"version\"}",
        "{\"id\":1,\"command\":\"version\",}",
        "{'id':1,'command':'version'}",
      })
  void linesWhoseIdCannotBeRead_areAnsweredWithIdNull_andTheConnectionClosed(String line)
      throws Exception {
    daemon = TestDaemon.start(directory);
    try (LineClient client = daemon.connect()) {
      client.send(line + "\n");
      assertRefusedAndClosed(client, "");
    }
    assertStillServing();
  }

  @Test
  void nestingTooDeep_isRefused() throws Exception {
    daemon = TestDaemon.start(directory);
    String deep = "[".repeat(5000) + "]".repeat(5000);
    try (LineClient client = daemon.connect()) {
      client.send("{\"id\":1,\"command\":\"check\",\"args\":{\"text\":" + deep + "}}\n");
      assertRefusedAndClosed(client, "not JSON");
    }
    assertStillServing();
  }

  @Test
  void aClientThatDisconnectsMidRequest_doesNotStopTheDaemon_andTheRequestIsCarriedOut()
      throws Exception {
    daemon = TestDaemon.start(directory);
    daemon.enforcer.setOperationDelay(Duration.ofMillis(300));
    try (LineClient client = daemon.connect()) {
      client.send(attach(1, container("c1", 5), text(POLICY)) + "\n");
      Thread.sleep(50); // the attach is under way when the client goes
    }
    daemon.enforcer.setOperationDelay(Duration.ZERO);

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    JsonNode attachments;
    do {
      Thread.sleep(50);
      attachments = data(daemon.request("{\"id\":2,\"command\":\"status\"}")).get("attachments");
    } while (attachments.size() == 0 && System.nanoTime() < deadline);
    assertEquals(
        1, attachments.size(), "a rejected request may have been carried out; this one was");
  }

  @Test
  void aHundredConcurrentClients_eachGetTheirOwnAnswers() throws Exception {
    daemon = TestDaemon.start(directory);
    ExecutorService clients = Executors.newFixedThreadPool(100);
    try {
      List<Callable<Void>> work = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        int n = i;
        work.add(
            () -> {
              String id = "k" + n;
              String address =
                  "{\"id\":\""
                      + id
                      + "\",\"addresses\":[\"10.214."
                      + (n / 200)
                      + "."
                      + (n % 200 + 2)
                      + "\"]}";
              try (LineClient client = daemon.connect()) {
                client.send(
                    attach(id, address, text(POLICY))
                        + "\n"
                        + "{\"id\":\"v"
                        + n
                        + "\",\"command\":\"version\"}\n"
                        + "{\"id\":\"d"
                        + n
                        + "\",\"command\":\"detach\",\"args\":{\"containerId\":\""
                        + id
                        + "\"}}\n");
                JsonNode attached = client.next();
                assertEquals(id, attached.get("id").asText());
                assertEquals(id, data(attached).get("containerId").asText());
                assertEquals("v" + n, client.next().get("id").asText());
                JsonNode detached = client.next();
                assertEquals("d" + n, detached.get("id").asText());
                assertTrue(data(detached).get("wasAttached").asBoolean());
              }
              return null;
            });
      }
      for (Future<Void> result : clients.invokeAll(work, 120, TimeUnit.SECONDS)) {
        result.get();
      }
    } finally {
      clients.shutdownNow();
    }
    JsonNode status = data(daemon.request("{\"id\":1,\"command\":\"status\"}"));
    assertEquals(0, status.get("attachments").size());
    assertEquals(100, status.get("counters").get("attaches").asInt());
    assertEquals(100, status.get("counters").get("detaches").asInt());
  }

  @Test
  void connectionsBeyondTheLimit_areClosedAtOnce_andServedAgainWhenOneCloses() throws Exception {
    daemon = TestDaemon.start(directory, "max-connections 2\n");
    try (LineClient first = daemon.connect();
        LineClient second = daemon.connect()) {
      first.request("{\"id\":1,\"command\":\"version\"}");
      second.request("{\"id\":1,\"command\":\"version\"}");

      try (LineClient third = daemon.connect()) {
        try {
          third.send("{\"id\":1,\"command\":\"version\"}\n");
        } catch (IOException closedAlready) {
          // the daemon may close it before the request is written
        }
        assertNull(third.nextLine(LineClient.TIMEOUT), "closed without an answer");
      }
      first.close();
      awaitServedWith(1);
    }
  }

  /**
   * Waits until a new connection is served while {@code count} others are open: the one that closed
   * freed its place.
   */
  private void awaitServedWith(int count) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      // A probe connection counts itself; while the limit is still reached it is closed at once.
      try (LineClient probe = daemon.connect()) {
        probe.send("{\"id\":0,\"command\":\"status\"}\n");
        String line = probe.nextLine(LineClient.TIMEOUT);
        if (line != null
            && LineClient.parse(line).get("data").get("counters").get("connections").asInt()
                == count + 1) {
          return;
        }
      } catch (IOException refused) {
        // closed before the request was written: try again
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no connection was served beside " + count + " others");
  }

  @Test
  void aSubscriberThatNeverReads_isDroppedAndClosed_andTheDaemonGoesOn() throws Exception {
    daemon = TestDaemon.start(directory, "subscriber-queue 4\n");
    // Events carry the policy text: a long one fills the socket's buffer after a few events.
    StringBuilder policy = new StringBuilder();
    for (int i = 0; i < 400; i++) {
      policy
          .append("allow 198.51.100.")
          .append(i % 250 + 1)
          .append(" port ")
          .append(1000 + i)
          .append("\\n");
    }
    policy.append("dns none\\n");
    try (LineClient subscriber = LineClient.connectWithoutReading(daemon.socket)) {
      subscriber.send("{\"id\":1,\"command\":\"subscribe\"}\n");
      try (LineClient client = daemon.connect()) {
        client.request(attach(1, container("c1", 5), text(policy.toString())));
        for (int i = 0; i < 60; i++) {
          String next = i % 2 == 0 ? POLICY : policy.toString();
          data(
              client.request(
                  "{\"id\":"
                      + i
                      + ",\"command\":\"update\",\"args\":{\"containerId\":\"c1\",\"policy\":"
                      + text(next)
                      + "}}"));
        }
        // Dropped and closed within a second of the overflow, whatever the subscriber does.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int subscribers;
        do {
          Thread.sleep(100);
          subscribers =
              data(client.request("{\"id\":\"s\",\"command\":\"status\"}"))
                  .get("counters")
                  .get("subscribers")
                  .asInt();
        } while (subscribers > 0 && System.nanoTime() < deadline);
        assertEquals(0, subscribers, "the subscriber that does not read is gone");
        assertTrue(data(client.request("{\"id\":\"v\",\"command\":\"version\"}")).has("protocol"));
      }
      subscriber.startReading();
      assertEquals(
          "{\"id\":1,\"ok\":true,\"data\":{\"subscribed\":true}}",
          subscriber.nextLine(LineClient.TIMEOUT));
      String line;
      while ((line = subscriber.nextLine(LineClient.TIMEOUT)) != null) {
        // what reached the socket before the overflow, and possibly the overflow event
        assertTrue(line.startsWith("{\"event\":{\"type\":\""), line);
      }
    }
  }
}
