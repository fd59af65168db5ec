package dev.egress.daemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubscriberTest {
  @TempDir Path directory;
  ServerSocketChannel server;
  SocketChannel peer;
  SocketChannel daemonSide;
  ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void connect() throws Exception {
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(directory.resolve("s")));
    peer = SocketChannel.open(UnixDomainSocketAddress.of(directory.resolve("s")));
    daemonSide = server.accept();
  }

  @AfterEach
  void close() throws Exception {
    timer.shutdownNow();
    peer.close();
    daemonSide.close();
    server.close();
  }

  private static byte[] event(int n, int padding) {
    return ("{\"event\":{\"type\":\"updated\",\"n\":"
            + n
            + ",\"pad\":\""
            + "x".repeat(padding)
            + "\"}}\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Everything the peer receives until the daemon's side closes. */
  private String readToEnd() throws Exception {
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    while (peer.read(buffer) >= 0) {
      received.write(buffer.array(), 0, buffer.position());
      buffer.clear();
    }
    return received.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aReaderTooSlow_losesTheQueuedEvents_getsAnOverflowEvent_andIsClosed() throws Exception {
    Subscriber subscriber = new Subscriber(daemonSide, 3, timer, Clock.systemUTC());
    Thread writer =
        new Thread(() -> subscriber.writeUntilEnd("{\"id\":1}\n".getBytes(StandardCharsets.UTF_8)));
    writer.start();

    int offered = 0;
    while (subscriber.offer(event(offered, 32 * 1024))) {
      offered++;
      assertTrue(offered < 10_000, "the queue and the socket buffer are bounded");
    }
    assertFalse(subscriber.offer(event(-1, 10)), "a dropped subscriber takes nothing more");

    String[] lines = readToEnd().split("\n");
    writer.join(5000);
    assertFalse(writer.isAlive());

    assertEquals("{\"id\":1}", lines[0]);
    JsonNode last = new ObjectMapper().readTree(lines[lines.length - 1]).get("event");
    assertEquals("overflow", last.get("type").asText());
    assertTrue(last.get("time").asText().endsWith("Z"), last.toString());
    int delivered = lines.length - 2;
    assertEquals(
        offered + 1 - delivered, last.get("dropped").asInt(), "what was not delivered, counted");
  }

  @Test
  void aReaderThatNeverReads_isClosedWithinTheGrace() throws Exception {
    Subscriber subscriber = new Subscriber(daemonSide, 1, timer, Clock.systemUTC());
    Thread writer = new Thread(() -> subscriber.writeUntilEnd(new byte[0]));
    writer.start();
    int offered = 0;
    while (subscriber.offer(event(offered, 32 * 1024))) {
      offered++;
    }

    writer.join(Subscriber.OVERFLOW_GRACE_MILLIS + 5000);

    assertFalse(writer.isAlive(), "the writer blocked on the full socket was released");
    assertFalse(daemonSide.isOpen());
  }

  @Test
  void theEnd_stopsTheWriterAfterWhatIsQueued() throws Exception {
    Subscriber subscriber = new Subscriber(daemonSide, 10, timer, Clock.systemUTC());
    assertTrue(subscriber.offer(event(1, 1)));
    assertTrue(subscriber.offer(event(2, 1)));
    subscriber.end();
    assertFalse(subscriber.offer(event(3, 1)));

    subscriber.writeUntilEnd("{\"id\":1}\n".getBytes(StandardCharsets.UTF_8));

    assertEquals(3, readToEnd().split("\n").length);
  }
}
