package dev.egress.daemon;

import static dev.egress.daemon.ProtocolTest.attach;
import static dev.egress.daemon.ProtocolTest.container;
import static dev.egress.daemon.ProtocolTest.data;
import static dev.egress.daemon.ProtocolTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** status reports each attachment's traffic counters, and says why when they cannot be read. */
class StatusTrafficTest {
  @TempDir Path directory;
  TestDaemon daemon;

  @BeforeEach
  void start() throws Exception {
    daemon = TestDaemon.start(directory);
  }

  @AfterEach
  void stop() {
    daemon.close();
  }

  private JsonNode status() throws IOException {
    return data(daemon.request("{\"id\":\"s\",\"command\":\"status\"}"));
  }

  @Test
  void eachAttachment_carriesWhatItsRulesLetThroughAndRefused() throws Exception {
    daemon.request(attach(1, container("c1", 5), text(ProtocolTest.POLICY)));
    daemon.request(attach(2, container("c2", 6), text(ProtocolTest.POLICY)));
    daemon.enforcer.send(ip("10.213.0.5"), Flow.tcp(ip("192.0.2.10"), 443), 60);
    daemon.enforcer.send(ip("10.213.0.5"), Flow.tcp(ip("192.0.2.10"), 443), 1500);
    daemon.enforcer.send(ip("10.213.0.5"), Flow.tcp(ip("203.0.113.9"), 443), 60);

    JsonNode attachments = status().get("attachments");

    assertEquals(
        "{\"allowedPackets\":2,\"allowedBytes\":1560,\"refusedPackets\":1,\"refusedBytes\":60}",
        attachments.get(0).get("traffic").toString());
    assertEquals(
        "{\"allowedPackets\":0,\"allowedBytes\":0,\"refusedPackets\":0,\"refusedBytes\":0}",
        attachments.get(1).get("traffic").toString());
    assertNull(status().get("trafficError"));
  }

  @Test
  void countersThatCannotBeRead_leaveTheAttachmentsWithout_andSayWhy() throws Exception {
    daemon.request(attach(1, container("c1", 5), text(ProtocolTest.POLICY)));
    daemon.enforcer.failAllOperations(true);

    JsonNode status = status();

    assertFalse(status.get("attachments").get(0).has("traffic"));
    assertEquals(
        "reading the traffic counters failed: injected fault (InMemoryEgressEnforcer was told to fail"
            + " (failAllOperations))",
        status.get("trafficError").asText());
  }

  private static java.net.InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }
}
