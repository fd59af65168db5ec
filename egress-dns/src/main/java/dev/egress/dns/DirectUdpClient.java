package dev.egress.dns;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.Arrays;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UDP exchanges of the resolver's own servers ({@link DirectUdpResolver}), shaped for an
 * answer's latency (issue 13): a query leaves on the thread that asks, and its answer is read by
 * this client's one receiving thread, which completes the lookup there ({@link DnsNameResolver}
 * runs dnsjava's continuations on that thread). dnsjava's own client hands the send to its I/O
 * thread, so a query waits for that thread to wake before it leaves.
 *
 * <p>Each query has a channel of its own, connected to the server, so that only the server's
 * datagrams arrive; its source port is the system's choice (random within the ephemeral range on
 * Linux and macOS, the range dnsjava picks from too). The first datagram answers: one that does not
 * carry the query's ID fails the query, as dnsjava's resolver fails it (an off-path guess gets one
 * try, and is logged). No answer within the timeout fails the query with {@link
 * SocketTimeoutException}, as dnsjava's client does; an error the socket reports (the server's port
 * unreachable) fails it at once.
 *
 * <p>Thread-safe. The receiving thread sleeps while no query is in flight. {@link #close()} fails
 * every query in flight and every later one, and stops the thread.
 */
final class DirectUdpClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DirectUdpClient.class);

  /** The largest UDP payload; each answer is read into one buffer of this size, then copied. */
  private static final int MAX_DATAGRAM = 65_535;

  private final Selector selector;
  private final Thread receiver;

  /** Where the receiving thread reads each datagram; used by that thread only. */
  private final ByteBuffer datagram = ByteBuffer.allocate(MAX_DATAGRAM);

  /** Queries sent and not yet watched by the receiving thread. */
  private final Queue<Query> sent = new ConcurrentLinkedQueue<>();

  private volatile boolean closed;

  /** A query in flight: its channel, server, ID, answer size limit, deadline and answer. */
  private record Query(
      DatagramChannel channel,
      InetSocketAddress server,
      int id,
      int maxSize,
      long deadline,
      CompletableFuture<byte[]> answer) {

    void fail(Exception cause) {
      close();
      answer.completeExceptionally(cause);
    }

    void close() {
      try {
        channel.close();
      } catch (IOException e) {
        log.debug("egress-dns: closing a query's channel failed", e);
      }
    }
  }

  private DirectUdpClient(Selector selector) {
    this.selector = selector;
    this.receiver = new Thread(this::receive, "egress-dns-udp");
    receiver.setDaemon(true);
  }

  /**
   * A client with its receiving thread started.
   *
   * @throws IOException if no selector could be opened
   */
  static DirectUdpClient start() throws IOException {
    DirectUdpClient client = new DirectUdpClient(Selector.open());
    client.receiver.start();
    return client;
  }

  /**
   * Sends {@code query} (its wire form, whose ID is {@code id}) to {@code server} on the calling
   * thread; the future completes, on the receiving thread, with the first datagram from the server
   * (at most {@code maxSize} bytes are read of it) when it carries the ID, or fails: with an {@link
   * IOException} when it does not, with {@link SocketTimeoutException} when none came within {@code
   * timeout}, with the socket's error, or because the client was closed.
   */
  CompletableFuture<byte[]> exchange(
      InetSocketAddress server, int id, byte[] query, int maxSize, Duration timeout) {
    CompletableFuture<byte[]> answer = new CompletableFuture<>();
    if (closed) {
      answer.completeExceptionally(closedFailure());
      return answer;
    }
    DatagramChannel channel;
    try {
      // The server's own family: no IPv4-mapped addresses, and it works with preferIPv4Stack.
      channel =
          DatagramChannel.open(
              server.getAddress() instanceof Inet6Address
                  ? StandardProtocolFamily.INET6
                  : StandardProtocolFamily.INET);
    } catch (IOException e) {
      answer.completeExceptionally(e);
      return answer;
    }
    Query pending =
        new Query(
            channel,
            server,
            id,
            Math.min(maxSize, MAX_DATAGRAM),
            System.nanoTime() + timeout.toNanos(),
            answer);
    try {
      channel.configureBlocking(false);
      channel.bind(null); // the system picks the source port
      channel.connect(server);
      int written = channel.write(ByteBuffer.wrap(query));
      if (written != query.length) {
        throw new IOException(
            "sent " + written + " of the query's " + query.length + " bytes to " + server);
      }
    } catch (IOException | RuntimeException e) {
      pending.fail(e);
      return answer;
    }
    sent.add(pending);
    selector.wakeup();
    if (closed && sent.remove(pending)) {
      pending.fail(closedFailure()); // closed meanwhile, and the receiving thread never saw it
    }
    return answer;
  }

  /** Fails every query in flight and every later one; stops the receiving thread. Idempotent. */
  @Override
  public void close() {
    closed = true;
    selector.wakeup();
    try {
      receiver.join(Duration.ofSeconds(5).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void receive() {
    try {
      while (!closed) {
        selector.select(this::read, untilFirstDeadline());
        watchSent();
        expire(System.nanoTime());
      }
    } catch (IOException e) {
      log.error("egress-dns: the UDP receiving thread stopped; queries fail from now on", e);
    } catch (RuntimeException | Error e) {
      log.error("egress-dns: the UDP receiving thread stopped; queries fail from now on", e);
      throw e;
    } finally {
      closed = true; // whatever ended the loop: later queries fail at once instead of waiting
      failAll();
    }
  }

  /** How long the receiving thread may wait: until the first deadline, or with no limit (0). */
  private long untilFirstDeadline() {
    long now = System.nanoTime();
    long wait = 0;
    for (SelectionKey key : selector.keys()) {
      if (key.isValid()) {
        long left = TimeUnit.NANOSECONDS.toMillis(((Query) key.attachment()).deadline() - now) + 1;
        wait = wait == 0 ? Math.max(1, left) : Math.max(1, Math.min(wait, left));
      }
    }
    return wait;
  }

  private void watchSent() {
    for (Query query; (query = sent.poll()) != null; ) {
      try {
        query.channel().register(selector, SelectionKey.OP_READ, query);
      } catch (IOException | RuntimeException e) {
        query.fail(e); // that query's channel only (closed by an interrupt, say)
      }
    }
  }

  private void read(SelectionKey key) {
    Query query = (Query) key.attachment();
    datagram.clear().limit(query.maxSize());
    try {
      if (query.channel().read(datagram) <= 0) {
        return; // nothing to read after all
      }
    } catch (IOException e) {
      key.cancel();
      query.fail(e);
      return;
    }
    key.cancel();
    byte[] bytes = datagram.array();
    int id = (bytes[0] & 0xFF) << 8 | (bytes[1] & 0xFF);
    if (datagram.position() < 2 || id != query.id()) {
      log.warn(
          "egress-dns: a datagram from {} did not carry query {}'s ID; the query fails",
          query.server(),
          query.id());
      query.fail(new IOException("the answer from " + query.server() + " has another ID"));
      return;
    }
    query.close();
    query.answer().complete(Arrays.copyOf(bytes, datagram.position()));
  }

  private void expire(long now) {
    for (SelectionKey key : selector.keys()) {
      Query query = (Query) key.attachment();
      if (key.isValid() && now - query.deadline() >= 0) {
        key.cancel();
        query.fail(new SocketTimeoutException("Query timed out"));
      }
    }
  }

  private void failAll() {
    try {
      for (SelectionKey key : selector.keys()) {
        ((Query) key.attachment()).fail(closedFailure());
      }
      selector.close();
    } catch (IOException | ClosedSelectorException e) {
      log.debug("egress-dns: closing the UDP selector failed", e);
    }
    for (Query query; (query = sent.poll()) != null; ) {
      query.fail(closedFailure());
    }
  }

  private static IOException closedFailure() {
    return new IOException("the resolver was closed");
  }
}
