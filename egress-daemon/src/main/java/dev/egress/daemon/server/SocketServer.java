package dev.egress.daemon.server;

import dev.egress.daemon.DaemonConfig;
import dev.egress.daemon.service.Counters;
import dev.egress.daemon.service.EgressService;
import dev.egress.daemon.service.EventHub;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's socket: accepts connections and serves each on a thread of its own, at most {@code
 * max-connections} at once (a connection beyond that is closed at once, without an answer, and
 * counted in the log). {@link #close} stops accepting, closes every connection and removes the
 * socket file.
 */
public final class SocketServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SocketServer.class);

  private final ServerSocketChannel server;
  private final Path socket;
  private final Peers peers;
  private final DaemonConfig.Limits limits;
  private final EgressService service;
  private final EventHub events;
  private final Counters counters;
  private final ScheduledExecutorService timer;
  private final Clock clock;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  private final AtomicInteger refused = new AtomicInteger();
  private final AtomicInteger sequence = new AtomicInteger();
  private final Thread acceptor;
  private volatile boolean closed;

  private SocketServer(
      ServerSocketChannel server,
      DaemonConfig config,
      EgressService service,
      EventHub events,
      Counters counters,
      ScheduledExecutorService timer,
      Clock clock) {
    this.server = server;
    this.socket = config.socket();
    this.peers = new Peers(config.allowUsers(), config.allowGroups());
    this.limits = config.limits();
    this.service = service;
    this.events = events;
    this.counters = counters;
    this.timer = timer;
    this.clock = clock;
    this.acceptor = new Thread(this::acceptLoop, "egressd-accept");
  }

  /**
   * Creates the socket (see {@link SocketFile}) and starts accepting.
   *
   * @param timer runs the closing of subscribers that overflowed
   * @throws IOException if the socket cannot be created as configured
   */
  public static SocketServer start(
      DaemonConfig config,
      EgressService service,
      EventHub events,
      Counters counters,
      ScheduledExecutorService timer,
      Clock clock)
      throws IOException {
    ServerSocketChannel server =
        SocketFile.listen(
            config.socket(), config.socketMode(), config.socketOwner(), config.socketGroup());
    SocketServer started =
        new SocketServer(server, config, service, events, counters, timer, clock);
    started.acceptor.start();
    return started;
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel channel;
      try {
        channel = server.accept();
      } catch (ClosedChannelException e) {
        return; // closed by close()
      } catch (IOException e) {
        log.error("accepting a connection failed", e);
        pause();
        continue;
      }
      if (counters.openConnections() >= limits.maxConnections()) {
        int count = refused.incrementAndGet();
        if (Integer.bitCount(count) == 1) { // 1, 2, 4, 8, ...: logged without flooding
          log.warn(
              "closed a connection at once: {} are open, the limit (max-connections); {} so far",
              limits.maxConnections(),
              count);
        }
        closeQuietly(channel);
        continue;
      }
      serveOnItsOwnThread(channel);
    }
  }

  private void serveOnItsOwnThread(SocketChannel channel) {
    counters.connections(1);
    open.add(channel);
    Connection connection =
        new Connection(
            channel,
            peers,
            limits.maxLineBytes(),
            limits.subscriberQueue(),
            service,
            events,
            counters,
            timer,
            clock);
    Thread thread =
        new Thread(
            () -> {
              try {
                connection.serve();
              } finally {
                open.remove(channel);
                threads.remove(Thread.currentThread());
                counters.connections(-1);
              }
            },
            "egressd-connection-" + sequence.incrementAndGet());
    thread.setDaemon(true);
    threads.add(thread);
    if (closed) {
      closeQuietly(channel); // close() ran meanwhile: the thread ends at once
    }
    thread.start();
  }

  /**
   * Stops accepting, closes every connection (a command under way finishes first, unanswered),
   * waits up to {@code grace} for their threads, and removes the socket file. Idempotent.
   */
  public void close(java.time.Duration grace) {
    if (closed) {
      return;
    }
    closed = true;
    closeQuietly(server);
    SocketFile.remove(socket);
    open.forEach(SocketServer::closeQuietly);
    long deadline = System.nanoTime() + grace.toNanos();
    try {
      acceptor.join(Math.max(1, grace.toMillis()));
      for (Thread thread : threads) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left > 0) {
          thread.join(left);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    close(java.time.Duration.ofSeconds(10));
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(java.nio.channels.Channel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      log.debug("closing a channel: {}", e.toString());
    }
  }
}
