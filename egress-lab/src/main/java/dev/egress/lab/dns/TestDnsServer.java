package dev.egress.lab.dns;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * An authoritative DNS server for tests: UDP and TCP on one port of a local address (127.0.0.1 and
 * an ephemeral port by default), answering from records the test sets and changes at run time. It
 * can delay answers, answer SERVFAIL, NXDOMAIN or REFUSED, or drop queries, and it counts the
 * queries it receives per name and type, so a test can prove how many upstream queries a resolver
 * made.
 *
 * <p>Names are absolute and case-insensitive; {@code "api.example.com"} and {@code
 * "API.example.com."} are the same name. A name with no records and no {@link Behaviour} set is
 * answered NXDOMAIN; a name with records but none of the asked type gets an empty NOERROR answer
 * (NODATA). CNAME chains inside the server's records are followed in one answer.
 *
 * <p>Thread-safe: records, behaviours and delay may be changed from any thread while the server
 * answers; each query sees one consistent version of each name. Answers are sent from a small pool,
 * so a delayed answer does not hold up others. {@link #close()} stops the server and is idempotent.
 * See {@link ZoneText} for the text format that {@link #loadZone} and the command-line {@link
 * TestDnsServerMain} read.
 */
public final class TestDnsServer implements AutoCloseable {

  /** How the server treats queries for one name. */
  public enum Behaviour {
    /** Answer from the records (NXDOMAIN when the name has none). */
    ANSWER,
    /** Answer SERVFAIL. */
    SERVFAIL,
    /** Answer NXDOMAIN even if the name has records. */
    NXDOMAIN,
    /**
     * Answer REFUSED, as a server does that will not serve the query (dnsmasq without upstream).
     */
    REFUSED,
    /** Never answer: the client times out. */
    DROP
  }

  private static final int MAX_CNAME_CHAIN = 8;
  private static final int MAX_UDP_PAYLOAD = 512;

  private final DatagramSocket udp;
  private final ServerSocket tcp;
  private final ScheduledExecutorService responders;
  private final Map<Name, List<Record>> records = new ConcurrentHashMap<>();
  private final Map<Name, Behaviour> behaviours = new ConcurrentHashMap<>();
  private final Map<Name, Map<Integer, AtomicInteger>> queryCounts = new ConcurrentHashMap<>();
  private final AtomicInteger totalQueries = new AtomicInteger();
  private final AtomicLong delayNanos = new AtomicLong();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  private TestDnsServer(DatagramSocket udp, ServerSocket tcp) {
    this.udp = udp;
    this.tcp = tcp;
    this.responders =
        Executors.newScheduledThreadPool(
            4,
            runnable -> {
              Thread thread = new Thread(runnable, "test-dns-responder");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Starts a server on 127.0.0.1 and an ephemeral port. */
  public static TestDnsServer start() throws IOException {
    return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
  }

  /**
   * Starts a server on {@code address} (port 0 picks a free port, the same for UDP and TCP).
   *
   * @throws IOException if the address cannot be bound
   */
  public static TestDnsServer start(InetSocketAddress address) throws IOException {
    IOException last = null;
    for (int attempt = 0; attempt < 10; attempt++) {
      DatagramSocket udp = new DatagramSocket(address);
      try {
        ServerSocket tcp = new ServerSocket();
        try {
          tcp.bind(new InetSocketAddress(address.getAddress(), udp.getLocalPort()));
        } catch (IOException e) {
          tcp.close();
          throw e;
        }
        TestDnsServer server = new TestDnsServer(udp, tcp);
        server.startThreads();
        return server;
      } catch (IOException e) {
        udp.close();
        last = e;
        if (address.getPort() != 0) {
          break;
        }
      }
    }
    throw new IOException("cannot bind a test DNS server to " + address, last);
  }

  /** The address and port to send queries to. */
  public InetSocketAddress address() {
    return new InetSocketAddress(udp.getLocalAddress(), udp.getLocalPort());
  }

  /**
   * Sets the A and AAAA records of {@code name} (replacing its earlier A, AAAA and CNAME records)
   * to {@code addresses}, each with {@code ttl}. No addresses makes the name exist without any
   * (NODATA).
   */
  public TestDnsServer setAddresses(String name, Duration ttl, String... addresses) {
    return setAddresses(name, ttl, List.of(addresses));
  }

  /** Same as {@link #setAddresses(String, Duration, String...)}. */
  public TestDnsServer setAddresses(String name, Duration ttl, List<String> addresses) {
    Name owner = absolute(name);
    List<Record> list = new ArrayList<>();
    for (String address : addresses) {
      list.add(addressRecord(owner, ttl, address));
    }
    setRecords(owner, list);
    return this;
  }

  /** Makes {@code name} an alias of {@code target} (replacing its other records). */
  public TestDnsServer setCname(String name, String target, Duration ttl) {
    Name owner = absolute(name);
    setRecords(
        owner, List.of(new CNAMERecord(owner, DClass.IN, ttl.toSeconds(), absolute(target))));
    return this;
  }

  /** Removes {@code name}'s records: it is then answered NXDOMAIN. */
  public TestDnsServer remove(String name) {
    records.remove(absolute(name));
    return this;
  }

  /** Removes every record and behaviour (query counts and the delay stay). */
  public TestDnsServer clear() {
    records.clear();
    behaviours.clear();
    return this;
  }

  /** Sets how queries for {@code name} are treated; {@link Behaviour#ANSWER} is the default. */
  public TestDnsServer setBehaviour(String name, Behaviour behaviour) {
    Objects.requireNonNull(behaviour, "behaviour");
    if (behaviour == Behaviour.ANSWER) {
      behaviours.remove(absolute(name));
    } else {
      behaviours.put(absolute(name), behaviour);
    }
    return this;
  }

  /** Delays every answer by {@code delay} (zero for none); answers are still sent concurrently. */
  public TestDnsServer setDelay(Duration delay) {
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay must not be negative: " + delay);
    }
    delayNanos.set(delay.toNanos());
    return this;
  }

  /**
   * Replaces all records and behaviours with those of a zone text (see {@link ZoneText}). A name in
   * the old and the new zone is answered throughout, from one or the other.
   *
   * @throws IllegalArgumentException naming the line that is wrong; the server is then unchanged
   */
  public TestDnsServer loadZone(String zoneText) {
    ZoneText zone = ZoneText.parse(zoneText);
    synchronized (this) {
      // New answers first, then stale names out: a name in both zones is never missing.
      records.putAll(zone.records());
      records.keySet().retainAll(zone.records().keySet());
      behaviours.putAll(zone.behaviours());
      behaviours.keySet().retainAll(zone.behaviours().keySet());
    }
    return this;
  }

  /** How many queries of any type arrived for {@code name}. */
  public int queries(String name) {
    Map<Integer, AtomicInteger> byType = queryCounts.get(absolute(name));
    return byType == null ? 0 : byType.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  /** How many queries of {@code type} (a {@link Type} constant) arrived for {@code name}. */
  public int queries(String name, int type) {
    Map<Integer, AtomicInteger> byType = queryCounts.get(absolute(name));
    AtomicInteger count = byType == null ? null : byType.get(type);
    return count == null ? 0 : count.get();
  }

  /** How many queries arrived in all. */
  public int totalQueries() {
    return totalQueries.get();
  }

  /** Sets every query count back to zero. */
  public void resetCounts() {
    queryCounts.clear();
    totalQueries.set(0);
  }

  @Override
  public void close() {
    closed = true;
    udp.close();
    try {
      tcp.close();
    } catch (IOException e) {
      // closing a listening socket only fails if it is already closed
    }
    responders.shutdownNow();
    for (Thread thread : threads) {
      thread.interrupt();
    }
  }

  private void setRecords(Name owner, List<Record> list) {
    records.put(owner, List.copyOf(list));
  }

  private void startThreads() {
    Thread udpLoop = new Thread(this::serveUdp, "test-dns-udp-" + udp.getLocalPort());
    Thread tcpLoop = new Thread(this::acceptTcp, "test-dns-tcp-" + udp.getLocalPort());
    for (Thread thread : List.of(udpLoop, tcpLoop)) {
      thread.setDaemon(true);
      threads.add(thread);
      thread.start();
    }
  }

  private void serveUdp() {
    byte[] buffer = new byte[65535];
    while (!closed) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        udp.receive(packet);
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      byte[] query = java.util.Arrays.copyOf(packet.getData(), packet.getLength());
      InetSocketAddress client = (InetSocketAddress) packet.getSocketAddress();
      handle(
          query,
          true,
          response -> {
            try {
              udp.send(new DatagramPacket(response, response.length, client));
            } catch (IOException e) {
              // the client went away; a real server would not care either
            }
          });
    }
  }

  private void acceptTcp() {
    while (!closed) {
      Socket socket;
      try {
        socket = tcp.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      Thread connection = new Thread(() -> serveTcp(socket), "test-dns-tcp-connection");
      connection.setDaemon(true);
      connection.start();
    }
  }

  private void serveTcp(Socket socket) {
    try (socket) {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      while (!closed) {
        int length = in.readUnsignedShort();
        byte[] query = new byte[length];
        in.readFully(query);
        handle(
            query,
            false,
            response -> {
              synchronized (out) {
                try {
                  out.writeShort(response.length);
                  out.write(response);
                  out.flush();
                } catch (IOException e) {
                  // connection closed by the client
                }
              }
            });
      }
    } catch (EOFException | SocketException e) {
      // client closed the connection
    } catch (IOException e) {
      // a broken connection ends this client's session only
    }
  }

  private void handle(byte[] queryBytes, boolean udpTransport, Consumer<byte[]> send) {
    Message query;
    try {
      query = new Message(queryBytes);
    } catch (IOException e) {
      return; // not DNS: ignore, as a real server would
    }
    Record question = query.getQuestion();
    if (question == null) {
      return;
    }
    Name name = question.getName().canonicalize();
    totalQueries.incrementAndGet();
    queryCounts
        .computeIfAbsent(name, n -> new ConcurrentHashMap<>())
        .computeIfAbsent(question.getType(), t -> new AtomicInteger())
        .incrementAndGet();
    Behaviour behaviour = behaviours.getOrDefault(name, Behaviour.ANSWER);
    if (behaviour == Behaviour.DROP) {
      return;
    }
    byte[] response = answer(query, question, behaviour, udpTransport);
    long delay = delayNanos.get();
    try {
      if (delay == 0) {
        send.accept(response); // from the receiving thread, as a real server: no hand-over to time
      } else {
        var unused = responders.schedule(() -> send.accept(response), delay, TimeUnit.NANOSECONDS);
      }
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed while answering
    }
  }

  private byte[] answer(Message query, Record question, Behaviour behaviour, boolean udpTransport) {
    Message response = new Message(query.getHeader().getID());
    response.getHeader().setFlag(Flags.QR);
    response.getHeader().setFlag(Flags.AA);
    if (query.getHeader().getFlag(Flags.RD)) {
      response.getHeader().setFlag(Flags.RD);
    }
    response.addRecord(question, Section.QUESTION);
    switch (behaviour) {
      case SERVFAIL -> response.getHeader().setRcode(Rcode.SERVFAIL);
      case NXDOMAIN -> response.getHeader().setRcode(Rcode.NXDOMAIN);
      case REFUSED -> response.getHeader().setRcode(Rcode.REFUSED);
      default -> fillAnswer(response, question);
    }
    byte[] wire = response.toWire();
    if (udpTransport && wire.length > MAX_UDP_PAYLOAD) {
      Message truncated = new Message(query.getHeader().getID());
      truncated.getHeader().setFlag(Flags.QR);
      truncated.getHeader().setFlag(Flags.AA);
      truncated.getHeader().setFlag(Flags.TC);
      truncated.addRecord(question, Section.QUESTION);
      return truncated.toWire();
    }
    return wire;
  }

  private void fillAnswer(Message response, Record question) {
    Name current = question.getName().canonicalize();
    for (int hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      List<Record> owned = records.get(current);
      if (owned == null) {
        if (hop == 0) {
          response.getHeader().setRcode(Rcode.NXDOMAIN);
        }
        return;
      }
      @Nullable Name next = null;
      for (Record record : owned) {
        if (record.getType() == question.getType() || question.getType() == Type.ANY) {
          response.addRecord(record, Section.ANSWER);
        } else if (record instanceof CNAMERecord alias && question.getType() != Type.CNAME) {
          response.addRecord(record, Section.ANSWER);
          next = alias.getTarget();
        }
      }
      if (next == null) {
        return;
      }
      current = next;
    }
  }

  static Record addressRecord(Name owner, Duration ttl, String address) {
    if (ttl.isNegative()) {
      throw new IllegalArgumentException("TTL must not be negative: " + ttl);
    }
    InetAddress parsed = parseLiteral(address);
    return parsed.getAddress().length == 4
        ? new ARecord(owner, DClass.IN, ttl.toSeconds(), parsed)
        : new AAAARecord(owner, DClass.IN, ttl.toSeconds(), parsed);
  }

  private static InetAddress parseLiteral(String address) {
    boolean literal =
        address.indexOf(':') >= 0
            ? address.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')
            : !address.isEmpty()
                && address.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    if (!literal) {
      throw new IllegalArgumentException(
          "'" + address + "' is not an IPv4 or IPv6 address literal");
    }
    try {
      // Digits and dots, or hex digits and colons: the JDK parses these as literals, never via DNS.
      return InetAddress.getByName(address);
    } catch (IOException e) {
      throw new IllegalArgumentException("'" + address + "' is not an IP address literal", e);
    }
  }

  static Name absolute(String name) {
    try {
      return Name.fromString(name.endsWith(".") ? name : name + ".").canonicalize();
    } catch (TextParseException e) {
      throw new IllegalArgumentException("'" + name + "' is not a DNS name: " + e.getMessage(), e);
    }
  }
}
