package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The resolver's UDP exchanges against a datagram socket of the test on the loopback, which plays
 * the server: it reads each query and answers what the test says. Bounds on durations are generous;
 * the failures they catch (a wait that runs to the 30 s timeout) are far apart from a slow machine.
 */
class DirectUdpClientTest {
  private static final Duration LONG = Duration.ofSeconds(30);

  private DirectUdpClient client;
  private Thread receiver;
  private DatagramSocket server;

  @BeforeEach
  void start() throws IOException {
    Set<Thread> others = receivingThreads();
    client = DirectUdpClient.start();
    Set<Thread> started = receivingThreads();
    started.removeAll(others);
    receiver =
        started.iterator().next(); // tests run one at a time: this client's is the only new one
    server = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    server.setSoTimeout((int) LONG.toMillis());
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  private InetSocketAddress serverAddress() {
    return (InetSocketAddress) server.getLocalSocketAddress();
  }

  private static Message query(String name) throws IOException {
    return Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN));
  }

  private CompletableFuture<byte[]> send(Message query, Duration timeout) {
    return client.exchange(
        serverAddress(), query.getHeader().getID(), query.toWire(), 1232, timeout);
  }

  /** Reads one query; returns the packet, whose address is the client's. */
  private DatagramPacket receiveQuery() throws IOException {
    DatagramPacket packet = new DatagramPacket(new byte[1500], 1500);
    server.receive(packet);
    return packet;
  }

  private void answer(DatagramPacket query, byte[] response) throws IOException {
    server.send(new DatagramPacket(response, response.length, query.getSocketAddress()));
  }

  private static byte[] responseTo(DatagramPacket packet, int id) throws IOException {
    Message query = new Message(Arrays.copyOf(packet.getData(), packet.getLength()));
    Message response = new Message(id);
    response.getHeader().setFlag(Flags.QR);
    response.addRecord(query.getQuestion(), Section.QUESTION);
    return response.toWire();
  }

  @Test
  void aQuery_isSent_andItsAnswerCompletesTheFuture() throws Exception {
    Message query = query("api.example.com.");
    CompletableFuture<byte[]> answer = send(query, LONG);

    DatagramPacket received = receiveQuery();
    assertArrayEquals(
        query.toWire(), Arrays.copyOf(received.getData(), received.getLength()), "the query");
    byte[] response = responseTo(received, query.getHeader().getID());
    answer(received, response);

    assertArrayEquals(response, answer.get(LONG.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Test
  void aDatagramWithAnotherId_failsTheQuery() throws Exception {
    Message query = query("api.example.com.");
    int id = query.getHeader().getID();
    CompletableFuture<byte[]> answer = send(query, LONG);
    DatagramPacket received = receiveQuery();

    answer(received, responseTo(received, (id + 1) & 0xFFFF)); // an off-path guess

    ExecutionException e =
        assertThrows(
            ExecutionException.class, () -> answer.get(LONG.toMillis(), TimeUnit.MILLISECONDS));
    assertTrue(e.getCause().getMessage().contains("another ID"), e.getCause().toString());
  }

  @Test
  void aDatagramTooShortForAnId_failsTheQuery() throws Exception {
    CompletableFuture<byte[]> answer = send(query("api.example.com."), LONG);
    DatagramPacket received = receiveQuery();

    answer(received, new byte[] {1});

    assertThrows(
        ExecutionException.class, () -> answer.get(LONG.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Test
  void aShortTimeout_endsItsQuery_whileALongerOneStillWaits() throws Exception {
    Message patient = query("patient.example.com.");
    CompletableFuture<byte[]> waiting = send(patient, LONG);
    DatagramPacket patientQuery = receiveQuery();
    CompletableFuture<byte[]> hasty = send(query("hasty.example.com."), Duration.ofMillis(200));
    receiveQuery();

    ExecutionException e =
        assertThrows(
            ExecutionException.class, () -> hasty.get(LONG.toMillis(), TimeUnit.MILLISECONDS));
    assertInstanceOf(SocketTimeoutException.class, e.getCause());
    assertFalse(waiting.isDone(), "the longer query still waits");

    byte[] response = responseTo(patientQuery, patient.getHeader().getID());
    answer(patientQuery, response);
    assertArrayEquals(response, waiting.get(LONG.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Test
  void noAnswerWithinTheTimeout_failsWithSocketTimeoutException() throws Exception {
    long started = System.nanoTime();
    CompletableFuture<byte[]> answer = send(query("silent.example.com."), Duration.ofMillis(300));
    receiveQuery(); // and never answered

    ExecutionException e =
        assertThrows(
            ExecutionException.class, () -> answer.get(LONG.toMillis(), TimeUnit.MILLISECONDS));

    assertInstanceOf(SocketTimeoutException.class, e.getCause());
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(waited >= 300, "waited the timeout: " + waited + " ms");
  }

  @Test
  void aQueryToAPortWhereNoServerListens_failsBeforeItsTimeout() throws Exception {
    InetSocketAddress closed = serverAddress();
    server.close(); // its port is now closed: the kernel answers the query with port unreachable
    long started = System.nanoTime();
    Message query = query("api.example.com.");

    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () ->
                client
                    .exchange(closed, query.getHeader().getID(), query.toWire(), 1232, LONG)
                    .get(LONG.toMillis(), TimeUnit.MILLISECONDS));

    assertInstanceOf(IOException.class, e.getCause());
    assertFalse(e.getCause() instanceof SocketTimeoutException, e.getCause().toString());
    assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(LONG) < 0);
  }

  @Test
  void close_failsTheQueriesInFlight_andEveryLaterOne_andStopsTheReceivingThread()
      throws Exception {
    CompletableFuture<byte[]> inFlight = send(query("api.example.com."), LONG);
    receiveQuery();
    assertTrue(receiver.isAlive(), "this client's thread runs before the close");

    client.close();

    ExecutionException first =
        assertThrows(
            ExecutionException.class, () -> inFlight.get(LONG.toMillis(), TimeUnit.MILLISECONDS));
    assertTrue(first.getCause().getMessage().contains("closed"), first.getCause().toString());
    CompletableFuture<byte[]> later = send(query("api.example.com."), LONG);
    assertTrue(later.isCompletedExceptionally(), "a query after close fails at once");
    assertFalse(receiver.isAlive(), "this client's thread stopped");
  }

  /**
   * The live receiving threads of every client, by name: a thread is alive from its start, while
   * its stack may still be empty (which is how a count of threads in the receive loop flaked).
   */
  private static Set<Thread> receivingThreads() {
    Set<Thread> threads = new HashSet<>();
    for (Thread thread : Thread.getAllStackTraces().keySet()) {
      if (thread.isAlive() && thread.getName().equals("egress-dns-udp")) {
        threads.add(thread);
      }
    }
    return threads;
  }

  @Test
  void manyQueriesInFlight_eachGetsItsOwnAnswer() throws Exception {
    int count = 50;
    Message[] queries = new Message[count];
    @SuppressWarnings("unchecked")
    CompletableFuture<byte[]>[] answers = new CompletableFuture[count];
    for (int i = 0; i < count; i++) {
      queries[i] = query("n" + i + ".example.com.");
      answers[i] = send(queries[i], LONG);
    }
    for (int i = 0; i < count; i++) {
      DatagramPacket received = receiveQuery();
      Message asked = new Message(Arrays.copyOf(received.getData(), received.getLength()));
      answer(received, responseTo(received, asked.getHeader().getID()));
    }
    for (int i = 0; i < count; i++) {
      Message response = new Message(answers[i].get(LONG.toMillis(), TimeUnit.MILLISECONDS));
      assertEquals(queries[i].getQuestion(), response.getQuestion(), "answer " + i);
    }
  }
}
