package dev.egress.nftables.bench;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * The DNS filter benchmark's load client, run inside a container namespace: A queries over UDP to
 * one server, one line of results on stdout. Modes:
 *
 * <ul>
 *   <li>{@code latency SERVER COUNT NAME...}: COUNT queries one after another, cycling through the
 *       names → {@code p50 MICROS p99 MICROS lost N} (after COUNT/10 unmeasured warm-up queries);
 *   <li>{@code each SERVER WARM NAME...}: one query per name, one after another (names the server
 *       has never seen) → the same line; first, unmeasured, {@value #CLIENT_WARM_UP} queries of
 *       WARM (a name the server has cached), so that the client's own start (class loading, its
 *       JIT) is not measured as the server's time;
 *   <li>{@code throughput SERVER SECONDS THREADS NAME...}: THREADS clients each keep one query in
 *       flight, cycling through the names (offset per thread) → {@code qps N lost N}.
 * </ul>
 *
 * A query unanswered within a second counts as lost. A response whose rcode is SERVFAIL fails the
 * run (the filter must not be measured answering errors).
 */
public final class DnsLoadMain {
  private static final int CLIENT_WARM_UP = 2_000;

  private DnsLoadMain() {}

  public static void main(String[] args) throws Exception {
    InetAddress server = InetAddress.getByName(args[1]);
    switch (args[0]) {
      case "latency" -> {
        int count = Integer.parseInt(args[2]);
        List<String> names = Arrays.asList(args).subList(3, args.length);
        try (DatagramSocket socket = socket(server)) {
          timed(socket, names, count / 10, 0);
          List<Long> micros = new ArrayList<>();
          long lost = timed(socket, names, count, 0, micros);
          System.out.println(percentiles(micros) + " lost " + lost);
        }
      }
      case "each" -> {
        List<String> names = Arrays.asList(args).subList(3, args.length);
        try (DatagramSocket socket = socket(server)) {
          timed(socket, List.of(args[2]), CLIENT_WARM_UP, 0);
          List<Long> micros = new ArrayList<>();
          long lost = timed(socket, names, names.size(), 0, micros);
          System.out.println(percentiles(micros) + " lost " + lost);
        }
      }
      case "throughput" -> {
        long seconds = Long.parseLong(args[2]);
        int threads = Integer.parseInt(args[3]);
        List<String> names = Arrays.asList(args).subList(4, args.length);
        AtomicLong answered = new AtomicLong();
        AtomicLong lost = new AtomicLong();
        AtomicBoolean measuring = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int offset = t * 7;
          Thread client =
              new Thread(
                  () -> {
                    try (DatagramSocket socket = socket(server)) {
                      for (int i = offset; !stop.get(); i++) {
                        boolean ok = query(socket, names.get(i % names.size()));
                        if (measuring.get()) {
                          (ok ? answered : lost).incrementAndGet();
                        }
                      }
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  });
          client.start();
          clients.add(client);
        }
        Thread.sleep(2_000); // warm-up
        measuring.set(true);
        long start = System.nanoTime();
        Thread.sleep(seconds * 1_000);
        measuring.set(false);
        double elapsed = (System.nanoTime() - start) / 1e9;
        stop.set(true);
        for (Thread client : clients) {
          client.join();
        }
        System.out.printf("qps %.0f lost %d%n", answered.get() / elapsed, lost.get());
      }
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  private static DatagramSocket socket(InetAddress server) throws IOException {
    DatagramSocket socket = new DatagramSocket();
    socket.connect(server, 53);
    socket.setSoTimeout(1_000);
    return socket;
  }

  private static long timed(DatagramSocket socket, List<String> names, int count, int offset)
      throws IOException {
    return timed(socket, names, count, offset, new ArrayList<>());
  }

  private static long timed(
      DatagramSocket socket, List<String> names, int count, int offset, List<Long> micros)
      throws IOException {
    long lost = 0;
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      if (query(socket, names.get((offset + i) % names.size()))) {
        micros.add((System.nanoTime() - start) / 1_000);
      } else {
        lost++;
      }
    }
    return lost;
  }

  /** One query and its response; false if none came within the timeout. */
  private static boolean query(DatagramSocket socket, String name) throws IOException {
    Message query =
        Message.newQuery(Record.newRecord(Name.fromString(name + "."), Type.A, DClass.IN));
    byte[] wire = query.toWire();
    socket.send(new DatagramPacket(wire, wire.length));
    DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
    while (true) {
      try {
        socket.receive(reply);
      } catch (SocketTimeoutException e) {
        return false;
      }
      Message answer = new Message(Arrays.copyOf(reply.getData(), reply.getLength()));
      if (answer.getHeader().getID() != query.getHeader().getID()) {
        continue; // a late answer to a query already counted lost
      }
      if (answer.getRcode() == Rcode.SERVFAIL) {
        throw new IllegalStateException("SERVFAIL for " + name);
      }
      return true;
    }
  }

  private static String percentiles(List<Long> micros) {
    if (micros.isEmpty()) {
      return "p50 - p99 -";
    }
    List<Long> sorted = new ArrayList<>(micros);
    Collections.sort(sorted);
    return "p50 "
        + sorted.get(sorted.size() / 2)
        + " p99 "
        + sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1));
  }
}
