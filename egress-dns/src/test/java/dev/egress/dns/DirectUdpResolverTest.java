package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.dns.TestDnsServer;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import org.xbill.DNS.WireParseException;

/**
 * What the resolver adds to the UDP exchange: the query as dnsjava would send it (EDNS), the checks
 * on the answer, and TCP after a truncated one. The server is a datagram socket of the test where a
 * test shapes the answer, and a {@link TestDnsServer} for truncation.
 */
class DirectUdpResolverTest {
  private static final Duration LONG = Duration.ofSeconds(30);

  private DirectUdpClient client;
  private DatagramSocket server;
  private DirectUdpResolver resolver;

  @BeforeEach
  void start() throws IOException {
    client = DirectUdpClient.start();
    server = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    server.setSoTimeout((int) LONG.toMillis());
    resolver = new DirectUdpResolver((InetSocketAddress) server.getLocalSocketAddress(), client);
    resolver.setTimeout(LONG);
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  private static Message query(String name) throws IOException {
    return Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN));
  }

  private CompletionStage<Message> send(Message query) {
    return resolver.sendAsync(query, ForkJoinPool.commonPool());
  }

  private static Message result(CompletionStage<Message> answer) throws Exception {
    return answer.toCompletableFuture().get(LONG.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Reads one query; returns the packet, whose address is the resolver's. */
  private DatagramPacket receiveQuery() throws IOException {
    DatagramPacket packet = new DatagramPacket(new byte[1500], 1500);
    server.receive(packet);
    return packet;
  }

  private static Message parsed(DatagramPacket packet) throws IOException {
    return new Message(Arrays.copyOf(packet.getData(), packet.getLength()));
  }

  private void answer(DatagramPacket query, byte[] response) throws IOException {
    server.send(new DatagramPacket(response, response.length, query.getSocketAddress()));
  }

  /** An answer to {@code asked} for the question {@code question}, with one address. */
  private static byte[] answerFor(Message asked, Record question) throws IOException {
    Message response = new Message(asked.getHeader().getID());
    response.getHeader().setFlag(Flags.QR);
    response.addRecord(question, Section.QUESTION);
    response.addRecord(
        new ARecord(
            question.getName(), DClass.IN, 60, InetAddress.getByAddress(new byte[] {1, 2, 3, 4})),
        Section.ANSWER);
    return response.toWire();
  }

  @Test
  void aQuery_goesOutWithDnsjavasEdns_andItsAnswerIsGiven() throws Exception {
    CompletionStage<Message> answer = send(query("api.example.com."));

    DatagramPacket received = receiveQuery();
    Message asked = parsed(received);
    OPTRecord edns = asked.getOPT();
    assertNotNull(edns, "EDNS, as dnsjava's resolver sends it");
    assertEquals(new SimpleResolver().getEDNS().getPayloadSize(), edns.getPayloadSize());
    answer(received, answerFor(asked, asked.getQuestion()));

    Message given = result(answer);
    assertEquals(1, given.getSection(Section.ANSWER).size());
    assertEquals(asked.getQuestion(), given.getQuestion());
  }

  @Test
  void theDnssecFlag_setAsValidationSetsIt_goesOut() throws Exception {
    resolver.setEDNS(0, 0, ExtendedFlags.DO, List.of());

    CompletionStage<Message> answer = send(query("api.example.com."));

    DatagramPacket received = receiveQuery();
    Message asked = parsed(received);
    assertTrue((asked.getOPT().getFlags() & ExtendedFlags.DO) != 0, asked.toString());
    answer(received, answerFor(asked, asked.getQuestion()));
    assertEquals(1, result(answer).getSection(Section.ANSWER).size());
  }

  @Test
  void anAnswerToAnotherQuestion_failsTheQuery() throws Exception {
    CompletionStage<Message> answer = send(query("api.example.com."));

    DatagramPacket received = receiveQuery();
    Message asked = parsed(received);
    Record other = Record.newRecord(Name.fromString("evil.example."), Type.A, DClass.IN);
    answer(received, answerFor(asked, other));

    ExecutionException e = assertThrows(ExecutionException.class, () -> result(answer));
    assertInstanceOf(WireParseException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("evil.example"), e.getCause().getMessage());
  }

  @Test
  void anAnswerThatDoesNotParse_failsTheQuery() throws Exception {
    CompletionStage<Message> answer = send(query("api.example.com."));

    DatagramPacket received = receiveQuery();
    int id = parsed(received).getHeader().getID();
    // The query's ID, then a header that announces five questions and holds none.
    answer(received, new byte[] {(byte) (id >> 8), (byte) id, (byte) 0x81, (byte) 0x80, 0, 5});

    ExecutionException e = assertThrows(ExecutionException.class, () -> result(answer));
    assertInstanceOf(WireParseException.class, e.getCause());
  }

  @Test
  void theAnswer_isHandledOnTheGivenExecutor() throws Exception {
    AtomicInteger tasks = new AtomicInteger();
    Executor counting =
        task -> {
          tasks.incrementAndGet();
          ForkJoinPool.commonPool().execute(task);
        };

    CompletionStage<Message> answer = resolver.sendAsync(query("api.example.com."), counting);

    DatagramPacket received = receiveQuery();
    Message asked = parsed(received);
    answer(received, answerFor(asked, asked.getQuestion()));
    assertEquals(1, result(answer).getSection(Section.ANSWER).size());
    assertTrue(tasks.get() >= 1, "the answer went through the executor (DNSSEC's pool)");
  }

  @Test
  void withAnExecutorThatRunsInline_theAnswerIsHandledOnTheReceivingThread() throws Exception {
    AtomicReference<String> handledOn = new AtomicReference<>();

    CompletionStage<Message> answer =
        resolver
            .sendAsync(query("api.example.com."), Runnable::run)
            .thenApply(
                message -> {
                  handledOn.set(Thread.currentThread().getName());
                  return message;
                });

    DatagramPacket received = receiveQuery();
    Message asked = parsed(received);
    answer(received, answerFor(asked, asked.getQuestion()));
    result(answer);
    assertEquals("egress-dns-udp", handledOn.get(), "no hand-over before the lookup completes");
  }

  @Test
  void anAnswerAsLargeAsTheQuerysOwnEdnsOffers_isReadWhole() throws Exception {
    Message query = query("many.example.com.");
    query.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL); // more than dnsjava's default

    CompletionStage<Message> answer = send(query);

    DatagramPacket received = receiveQuery();
    Message asked = parsed(received);
    assertEquals(4096, asked.getOPT().getPayloadSize(), "the query's own EDNS went out");
    Message response = new Message(asked.getHeader().getID());
    response.getHeader().setFlag(Flags.QR);
    response.addRecord(asked.getQuestion(), Section.QUESTION);
    for (int i = 1; i <= 150; i++) {
      response.addRecord(
          new ARecord(
              asked.getQuestion().getName(),
              DClass.IN,
              60,
              InetAddress.getByAddress(new byte[] {10, 0, (byte) (i / 250), (byte) (i % 250)})),
          Section.ANSWER);
    }
    byte[] wire = response.toWire();
    assertTrue(wire.length > 2000 && wire.length < 4096, "size " + wire.length);
    answer(received, wire);

    assertEquals(150, result(answer).getSection(Section.ANSWER).size());
  }

  @Test
  void aTruncatedAnswer_isAskedAgainOverTcp() throws Exception {
    try (TestDnsServer dns = TestDnsServer.start()) {
      List<String> many =
          IntStream.range(1, 60).mapToObj(i -> "192.0.2." + i).toList(); // over 512 bytes
      dns.setAddresses("big.example.com", Duration.ofSeconds(60), many);
      DirectUdpResolver toDns = new DirectUdpResolver(dns.address(), client);
      toDns.setTimeout(LONG);

      Message whole = result(toDns.sendAsync(query("big.example.com."), ForkJoinPool.commonPool()));

      assertFalse(whole.getHeader().getFlag(Flags.TC));
      assertEquals(59, whole.getSection(Section.ANSWER).size());
    }
  }
}
