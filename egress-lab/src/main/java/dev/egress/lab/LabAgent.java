package dev.egress.lab;

import dev.egress.lab.dns.TestDnsServer;
import dev.egress.policy.IpAddresses;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The process {@link NetnsLab} starts inside each namespace ({@code ip netns exec NS java ...}): it
 * serves (TCP and UDP echo, DNS) and probes (connect, send a datagram, ping, query DNS, send a
 * burst of datagrams) on behalf of the test, one command per stdin line, one answer per stdout
 * line. Internal to the lab; public only so that {@code java} can start it.
 *
 * <p>Every probe is bounded by the timeout its command names. Answers start with {@code ok} or
 * {@code err}. Probe outcomes are {@code connected}/{@code answered}, {@code refused} (RST or ICMP
 * unreachable), {@code timeout}.
 */
public final class LabAgent {
  private static final int MAX_LINE = 512;

  private final PrintStream out;
  private final Map<String, Socket> held = new ConcurrentHashMap<>();
  private final Map<Integer, AtomicInteger> accepted = new ConcurrentHashMap<>();
  private final Map<Integer, AtomicInteger> received = new ConcurrentHashMap<>();
  private final List<TestDnsServer> dnsServers = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<AutoCloseable> servers = new ArrayList<>();

  private LabAgent(PrintStream out) {
    this.out = out;
  }

  /** Reads commands from stdin until {@code quit} or end of input. */
  public static void main(String[] args) throws IOException {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    LabAgent agent = new LabAgent(out);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    out.println("ok ready");
    String line;
    while ((line = in.readLine()) != null && !line.equals("quit")) {
      String answer;
      try {
        answer = agent.handle(line.length() > MAX_LINE ? "" : line);
      } catch (IOException | RuntimeException e) {
        answer = "err " + e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      out.println(answer.replace('\n', ' '));
    }
    agent.closeAll();
    System.exit(0);
  }

  private String handle(String line) throws IOException {
    String[] words = line.trim().split(" +");
    String[] args = Arrays.copyOfRange(words, 1, words.length);
    switch (words[0]) {
      case "tcp-echo":
        return tcpEcho(Integer.parseInt(args[0]), parseLiteral(args[1]));
      case "udp-echo":
        return udpEcho(new InetSocketAddress(parseLiteral(args[1]), Integer.parseInt(args[0])));
      case "dns":
        dnsServers.add(TestDnsServer.start(new InetSocketAddress(parseLiteral(args[0]), 53)));
        return "ok listening";
      case "record":
        return record(args);
      case "queries":
        return "ok " + queries(args[0]);
      case "accepted":
        AtomicInteger count = accepted.get(Integer.parseInt(args[0]));
        return "ok " + (count == null ? 0 : count.get());
      case "received":
        AtomicInteger datagrams = received.get(Integer.parseInt(args[0]));
        return "ok " + (datagrams == null ? 0 : datagrams.get());
      case "connect":
        return connect(
            args[0],
            parseLiteral(args[1]),
            Integer.parseInt(args[2]),
            Integer.parseInt(args[3]),
            false);
      case "open":
        return connect(
            args[0],
            parseLiteral(args[1]),
            Integer.parseInt(args[2]),
            Integer.parseInt(args[3]),
            true);
      case "send":
        return sendHeld(args[0], Integer.parseInt(args[1]));
      case "udp":
        return udpProbe(
            parseLiteral(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]));
      case "burst":
        return burst(
            new InetSocketAddress(
                parseLiteral(args[0]), args.length > 4 ? Integer.parseInt(args[4]) : 0),
            parseLiteral(args[1]),
            Integer.parseInt(args[2]),
            Integer.parseInt(args[3]));
      case "ping":
        return parseLiteral(args[0]).isReachable(Integer.parseInt(args[1]))
            ? "ok answered"
            : "ok timeout";
      case "dnsq":
        return dnsQuery(parseLiteral(args[0]), args[1], Integer.parseInt(args[2]));
      default:
        return "err unknown command '" + words[0] + "'";
    }
  }

  private String tcpEcho(int port, InetAddress bind) throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(bind, port), 50);
    servers.add(server);
    AtomicInteger count = accepted.computeIfAbsent(port, p -> new AtomicInteger());
    daemon(
        "tcp-echo-" + port,
        () -> {
          while (!server.isClosed()) {
            try {
              Socket socket = server.accept();
              count.incrementAndGet();
              daemon("tcp-echo-conn", () -> echo(socket));
            } catch (IOException e) {
              return;
            }
          }
        });
    return "ok listening";
  }

  private static void echo(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      OutputStream os = socket.getOutputStream();
      byte[] buffer = new byte[1024];
      int n;
      while ((n = in.read(buffer)) > 0) {
        os.write(buffer, 0, n);
        os.flush();
      }
    } catch (IOException e) {
      // The peer went away or was cut off: that is what some tests do on purpose.
    }
  }

  private String udpEcho(InetSocketAddress bind) throws IOException {
    DatagramSocket socket = new DatagramSocket(bind);
    servers.add(socket);
    AtomicInteger count = received.computeIfAbsent(bind.getPort(), p -> new AtomicInteger());
    daemon(
        "udp-" + bind,
        () -> {
          byte[] buffer = new byte[1500];
          while (!socket.isClosed()) {
            try {
              DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
              socket.receive(packet);
              count.incrementAndGet();
              byte[] reply = Arrays.copyOf(packet.getData(), packet.getLength());
              socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
            } catch (IOException e) {
              if (socket.isClosed()) {
                return;
              }
            }
          }
        });
    return "ok listening";
  }

  private String record(String[] args) {
    String name = args[0];
    Duration ttl = Duration.ofSeconds(Long.parseLong(args[1]));
    List<String> addresses = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      addresses.add(IpAddresses.format(parseLiteral(args[i])));
    }
    for (TestDnsServer server : dnsServers) {
      if (addresses.isEmpty()) {
        server.remove(name);
      } else {
        server.setAddresses(name, ttl, addresses);
      }
    }
    return "ok";
  }

  /** The queries for {@code name} this namespace's DNS servers received, all types. */
  private int queries(String name) {
    int queries = 0;
    for (TestDnsServer server : dnsServers) {
      queries += server.queries(name);
    }
    return queries;
  }

  private String connect(String id, InetAddress target, int port, int timeoutMillis, boolean hold)
      throws IOException {
    Socket socket = new Socket();
    try {
      socket.connect(new InetSocketAddress(target, port), timeoutMillis);
    } catch (ConnectException | NoRouteToHostException e) {
      socket.close();
      return "ok refused";
    } catch (SocketTimeoutException e) {
      socket.close();
      return "ok timeout";
    }
    if (hold) {
      held.put(id, socket);
    } else {
      socket.close();
    }
    return "ok connected";
  }

  private String sendHeld(String id, int timeoutMillis) throws IOException {
    Socket socket = held.get(id);
    if (socket == null) {
      return "err no connection '" + id + "'";
    }
    socket.setSoTimeout(timeoutMillis);
    byte[] ping = "ping\n".getBytes(StandardCharsets.US_ASCII);
    try {
      socket.getOutputStream().write(ping);
      socket.getOutputStream().flush();
      byte[] back = socket.getInputStream().readNBytes(ping.length);
      return Arrays.equals(back, ping) ? "ok answered" : "ok refused";
    } catch (SocketTimeoutException e) {
      return "ok timeout";
    } catch (SocketException e) {
      return "ok refused";
    }
  }

  private static String udpProbe(InetAddress target, int port, int timeoutMillis)
      throws IOException {
    try (DatagramSocket socket = new DatagramSocket()) {
      socket.connect(target, port);
      socket.setSoTimeout(timeoutMillis);
      byte[] payload = "probe".getBytes(StandardCharsets.US_ASCII);
      socket.send(new DatagramPacket(payload, payload.length));
      DatagramPacket reply = new DatagramPacket(new byte[64], 64);
      socket.receive(reply);
      return "ok answered";
    } catch (PortUnreachableException e) {
      return "ok refused";
    } catch (SocketTimeoutException e) {
      return "ok timeout";
    } catch (SocketException e) {
      // ICMP "administratively prohibited" and "host unreachable" arrive as plain socket errors.
      return "ok refused";
    }
  }

  /**
   * Sends {@code count} datagrams to {@code target} from {@code source} (the any-address: the
   * route's; port 0: any) as fast as the socket takes them. The socket is unconnected, so ICMP
   * errors the filter answers with do not end the burst.
   */
  private static String burst(InetSocketAddress source, InetAddress target, int port, int count)
      throws IOException {
    try (DatagramSocket socket = new DatagramSocket(source)) {
      byte[] payload = "burst".getBytes(StandardCharsets.US_ASCII);
      DatagramPacket packet = new DatagramPacket(payload, payload.length, target, port);
      for (int i = 0; i < count; i++) {
        socket.send(packet);
      }
      return "ok sent " + count;
    }
  }

  private static String dnsQuery(InetAddress server, String name, int timeoutMillis)
      throws IOException {
    Message query =
        Message.newQuery(Record.newRecord(Name.fromString(canonical(name)), Type.A, DClass.IN));
    byte[] wire = query.toWire();
    try (DatagramSocket socket = new DatagramSocket()) {
      socket.connect(server, 53);
      socket.setSoTimeout(timeoutMillis);
      socket.send(new DatagramPacket(wire, wire.length));
      DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
      socket.receive(reply);
      Message answer = new Message(Arrays.copyOf(reply.getData(), reply.getLength()));
      StringBuilder text = new StringBuilder(Rcode.string(answer.getRcode()));
      for (Record record : answer.getSection(Section.ANSWER)) {
        if (record instanceof ARecord a) {
          text.append(' ').append(a.getAddress().getHostAddress());
        }
      }
      return "ok answered " + text;
    } catch (PortUnreachableException e) {
      return "ok refused";
    } catch (SocketTimeoutException e) {
      return "ok timeout";
    } catch (SocketException e) {
      // ICMP "administratively prohibited" and "host unreachable" arrive as plain socket errors.
      return "ok refused";
    }
  }

  private static String canonical(String name) {
    String lower = name.toLowerCase(java.util.Locale.ROOT);
    return lower.endsWith(".") ? lower : lower + ".";
  }

  /** An address literal, IPv6 optionally with a zone ({@code fe80::1%eth0}); never a name. */
  private static InetAddress parseLiteral(String text) {
    int zone = text.indexOf('%');
    String address = zone < 0 ? text : text.substring(0, zone);
    if (!address.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')
        || (zone >= 0 && !text.substring(zone + 1).matches("[A-Za-z0-9_.-]{1,15}"))) {
      throw new IllegalArgumentException("not an address literal: " + text);
    }
    try {
      return InetAddress.getByName(text);
    } catch (IOException e) {
      throw new IllegalArgumentException("not an address literal: " + text, e);
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    thread.start();
  }

  private void closeAll() {
    dnsServers.forEach(TestDnsServer::close);
    for (AutoCloseable server : servers) {
      close(server);
    }
    held.values().forEach(LabAgent::close);
  }

  private static void close(@Nullable AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception e) {
      // Closing at exit: nothing left to do about it.
    }
  }
}
