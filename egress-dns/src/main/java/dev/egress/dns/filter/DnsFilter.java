package dev.egress.dns.filter;

import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.FilteredAttachments;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The filtering DNS resolver, on UDP and TCP of one address: the only resolver of containers whose
 * policy says {@code dns filter}. One per host, shared by all containers; the enforcer it was built
 * with knows the address (its rules let port 53 through to it, and redirect other port-53 traffic
 * to it where the backend can).
 *
 * <p><b>What it answers.</b> The container is the attachment holding the query's source address
 * ({@link FilteredAttachments#bySource}); any other source, and a container whose policy has
 * another DNS rule, gets REFUSED and no query goes anywhere. For a known container:
 *
 * <ul>
 *   <li>a name no allow line covers ({@link dev.egress.policy.EgressPolicy#namesCovering}), and any
 *       name that is not a plain host name (see {@link dev.egress.policy.HostName#ofQuery}):
 *       NXDOMAIN, answered here, no upstream byte;
 *   <li>an allowed name asked for another type than A or AAAA (CNAME included, since answers are
 *       flattened: the records of the asked name carry the chain's final addresses): NOERROR with
 *       no answer (NODATA), no upstream query;
 *   <li>A or AAAA of an allowed name: resolved through the shared {@link DnsNameResolver} (its
 *       cache, CNAME following, TTL clamping and unusable-address table); its addresses are granted
 *       to the container ({@link FilteredAttachments#grant}) until the answer's clamped expiry plus
 *       the {@link Builder#grace grace}, and only then is the answer sent, with the remaining TTL.
 *       Addresses still granted for at least half the grace beyond the answer's expiry are answered
 *       at once, with no kernel call; otherwise the grant is renewed. NXDOMAIN upstream is passed
 *       on; an upstream failure or timeout is SERVFAIL, and so is a failed grant (never an answer
 *       the container cannot use);
 *   <li>a query that does not parse, or has not exactly one question: FORMERR; another opcode than
 *       QUERY: NOTIMP; a response (QR set) or fewer than 12 bytes: nothing.
 * </ul>
 *
 * <p>Every query of a known container is an {@link dev.egress.enforcer.EgressEvent.DnsQueried}
 * event. Each wildcard lets a container encode data in labels under its suffix and reach that
 * domain's own servers; the filter counts the different names each container asks under each
 * wildcard and emits {@link dev.egress.enforcer.EgressEvent.WildcardBurst} when a {@link
 * Builder#burstWindow window} reaches the {@link Builder#burstThreshold threshold}.
 *
 * <p><b>Restart.</b> The filter keeps no view of its own: what is granted is read back from the
 * enforcer ({@link FilteredAttachments#grantedUntil}), so a new filter over the same enforcer
 * answers granted addresses at once.
 *
 * <p><b>Threads.</b> {@link Builder#threads} threads each receive a UDP query, answer it and
 * receive the next: a query is answered on the thread that received it, with no hand-over to
 * another (an uncached answer waits for the upstream and the kernel update, issue 13). While every
 * one of them is busy, queries wait in the socket's receive buffer (a few hundred queries with the
 * kernel's default size); the kernel drops what does not fit, and the client retries. One thread
 * accepts TCP; at most 64 TCP connections at a time, each closed after 10 s idle. {@link #close()}
 * stops all of them and is idempotent.
 */
public final class DnsFilter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsFilter.class);
  private static final int MAX_UDP_QUERY = 65535;
  private static final int MAX_TCP_CONNECTIONS = 64;
  private static final int TCP_IDLE_MILLIS = 10_000;

  private final QueryHandler handler;
  private final DatagramSocket udp;
  private final ServerSocket tcp;
  private final ExecutorService connections;
  private final Semaphore connectionSlots = new Semaphore(MAX_TCP_CONNECTIONS);
  private final List<Thread> loops;
  private volatile boolean closed;

  private DnsFilter(QueryHandler handler, DatagramSocket udp, ServerSocket tcp, int threads) {
    this.handler = handler;
    this.udp = udp;
    this.tcp = tcp;
    this.connections =
        new ThreadPoolExecutor(
            0,
            MAX_TCP_CONNECTIONS,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            daemonThreads("egress-dns-filter-tcp"));
    List<Thread> loops = new ArrayList<>();
    ThreadFactory udpThreads = daemonThreads("egress-dns-filter-udp");
    for (int i = 0; i < threads; i++) {
      loops.add(udpThreads.newThread(this::answerUdp));
    }
    loops.add(daemonThreads("egress-dns-filter-accept").newThread(this::acceptTcp));
    this.loops = List.copyOf(loops);
    loops.forEach(Thread::start);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The address and port queries go to (UDP and TCP). */
  public InetSocketAddress address() {
    return new InetSocketAddress(udp.getLocalAddress(), udp.getLocalPort());
  }

  /** Stops receiving and answering; queries in progress are abandoned. Idempotent. */
  @Override
  public void close() {
    closed = true;
    udp.close();
    try {
      tcp.close();
    } catch (IOException e) {
      log.debug("closing the TCP socket failed", e);
    }
    connections.shutdownNow();
    loops.forEach(Thread::interrupt); // one waiting for an answer upstream or in the kernel
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1); // for all of them together
    for (Thread loop : loops) {
      try {
        TimeUnit.NANOSECONDS.timedJoin(loop, Math.max(1, deadline - System.nanoTime()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** One of the UDP threads: receives a query, answers it, receives the next. */
  private void answerUdp() {
    // One buffer per thread: a query is copied out of it before it is answered.
    DatagramPacket packet = new DatagramPacket(new byte[MAX_UDP_QUERY], MAX_UDP_QUERY);
    while (!closed) {
      // Only close() interrupts these threads; a flag left from elsewhere must not fail the next
      // query's grant (an interrupted grant kills the enforcer's nft session).
      Thread.interrupted();
      packet.setLength(MAX_UDP_QUERY);
      try {
        udp.receive(packet);
      } catch (IOException e) {
        if (!closed) {
          log.warn("receiving a UDP query failed", e);
        }
        continue;
      }
      byte[] query = Arrays.copyOf(packet.getData(), packet.getLength());
      InetSocketAddress from = (InetSocketAddress) packet.getSocketAddress();
      try {
        byte[] response = handler.respond(from.getAddress(), query, Transport.UDP);
        if (response != null) {
          udp.send(new DatagramPacket(response, response.length, from));
        }
      } catch (InterruptedException e) {
        return; // closed
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          log.warn("answering a UDP query from {} failed", from, e);
        }
      }
    }
  }

  private void acceptTcp() {
    while (!closed) {
      Socket socket;
      try {
        socket = tcp.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("accepting a TCP connection failed", e);
        }
        continue;
      }
      if (!connectionSlots.tryAcquire()) {
        closeQuietly(socket);
        continue;
      }
      try {
        connections.execute(
            () -> {
              try {
                serveTcp(socket);
              } finally {
                closeQuietly(socket);
                connectionSlots.release();
              }
            });
      } catch (RejectedExecutionException e) {
        closeQuietly(socket);
        connectionSlots.release();
      }
    }
  }

  /** Answers length-prefixed queries on one connection until it closes or idles. */
  private void serveTcp(Socket socket) {
    InetAddress source = socket.getInetAddress();
    try {
      socket.setSoTimeout(TCP_IDLE_MILLIS);
      DataInputStream in = new DataInputStream(socket.getInputStream());
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      while (!closed) {
        int length = in.readUnsignedShort();
        byte[] query = new byte[length];
        in.readFully(query);
        byte[] response = handler.respond(source, query, Transport.TCP);
        if (response == null) {
          return;
        }
        out.writeShort(response.length);
        out.write(response);
        out.flush();
      }
    } catch (EOFException | SocketTimeoutException e) {
      // The client is done, or idle too long.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SocketException e) {
      log.debug("TCP connection from {} ended: {}", source, e.getMessage());
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        log.warn("answering TCP queries from {} failed", source, e);
      }
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      log.debug("closing a TCP connection failed", e);
    }
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * Builds and starts a {@link DnsFilter}; the enforcer's attachments, the resolver and the listen
   * address are required. Each setter checks its argument at once. Not thread-safe.
   */
  public static final class Builder {
    private @Nullable FilteredAttachments attachments;
    private @Nullable DnsNameResolver resolver;
    private @Nullable InetSocketAddress listen;
    private Clock clock = Clock.systemUTC();
    private Duration grace = Duration.ofMinutes(5);
    private int burstThreshold = 100;
    private Duration burstWindow = Duration.ofMinutes(1);
    private EgressListener listener = EgressListener.NONE;
    private int threads = 8;

    private Builder() {}

    /** The enforcer's side of the filter: who asked, and where answers are granted. */
    public Builder attachments(FilteredAttachments attachments) {
      this.attachments = Objects.requireNonNull(attachments, "attachments");
      return this;
    }

    /** The shared resolver allowed names are resolved through (its cache serves both). */
    public Builder resolver(DnsNameResolver resolver) {
      this.resolver = Objects.requireNonNull(resolver, "resolver");
      return this;
    }

    /**
     * The address and port to listen on, UDP and TCP (port 0 picks a free one, the same for both;
     * tests). It must be the address the enforcer was built with as its DNS filter.
     */
    public Builder listen(InetSocketAddress address) {
      this.listen = Objects.requireNonNull(address, "address");
      return this;
    }

    /** The clock grants' expiries are measured on; the resolver's. Default the system UTC clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How long an answer's addresses stay granted after its TTL ends, for connections opened while
     * it was valid. Default 5 min; zero allowed.
     */
    public Builder grace(Duration grace) {
      if (grace.isNegative()) {
        throw new IllegalArgumentException("grace must not be negative: " + grace);
      }
      this.grace = grace;
      return this;
    }

    /**
     * How many different names under one wildcard one container may ask for within a {@link
     * #burstWindow window} before a {@link dev.egress.enforcer.EgressEvent.WildcardBurst} reports
     * it. Default 100.
     */
    public Builder burstThreshold(int threshold) {
      if (threshold < 1) {
        throw new IllegalArgumentException("burst threshold must be at least 1: " + threshold);
      }
      this.burstThreshold = threshold;
      return this;
    }

    /** The window bursts are counted in. Default 1 min. */
    public Builder burstWindow(Duration window) {
      if (window.isNegative() || window.isZero()) {
        throw new IllegalArgumentException("burst window must be positive: " + window);
      }
      this.burstWindow = window;
      return this;
    }

    /** Receives a {@code DnsQueried} event per query and the burst events. */
    public Builder listener(EgressListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** How many queries are answered at a time (each may wait for the upstream). Default 8. */
    public Builder threads(int threads) {
      if (threads < 1 || threads > 256) {
        throw new IllegalArgumentException("threads must be 1 to 256: " + threads);
      }
      this.threads = threads;
      return this;
    }

    /**
     * Binds the address and starts answering.
     *
     * @throws IllegalStateException if the attachments, resolver or address are missing
     * @throws IOException if the address cannot be bound (for UDP or TCP)
     */
    public DnsFilter start() throws IOException {
      if (attachments == null || resolver == null || listen == null) {
        throw new IllegalStateException(
            "a DNS filter needs attachments(enforcer), resolver(...) and listen(address)");
      }
      QueryHandler handler =
          new QueryHandler(
              attachments,
              resolver,
              clock,
              grace,
              new BurstCounter(burstThreshold, burstWindow),
              listener);
      DatagramSocket udp = new DatagramSocket(listen);
      try {
        ServerSocket tcp = new ServerSocket();
        try {
          tcp.setReuseAddress(true);
          tcp.bind(new InetSocketAddress(listen.getAddress(), udp.getLocalPort()));
        } catch (IOException e) {
          tcp.close();
          throw e;
        }
        return new DnsFilter(handler, udp, tcp, threads);
      } catch (IOException e) {
        udp.close();
        throw e;
      }
    }
  }
}
