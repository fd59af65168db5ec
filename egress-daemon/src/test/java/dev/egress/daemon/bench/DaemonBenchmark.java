package dev.egress.daemon.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.TestDaemon;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Benchmark command (a main, not JMH: part of it times a real daemon process on a real kernel).
 *
 * <ul>
 *   <li>{@code overhead [N]}: the same attach N times (default 5,000, after as many to warm up)
 *       in-process on the testkit's in-memory enforcer, and through egressd's socket on a daemon in
 *       this JVM over the same enforcer (request written, answer read: JSON, socket, policy
 *       parsing, state file on tmpfs). Prints p50, p90 and p99 of each and their difference.
 *   <li>{@code scale [N] [IDLE_SECONDS]} (root, nft): egressd as a process of its own with nftables
 *       in a network namespace of its own; prints when it first accepts a connection, attaches N
 *       containers (default 200) through the socket, prints the attach latency, the daemon's
 *       resident memory and open file descriptors, then its CPU time (and that of the nft processes
 *       it ran) over IDLE_SECONDS (default 120) of idleness at the default health-check period,
 *       split by thread. The daemon runs with the JVM options of its service files, or with {@code
 *       EGRESSD_JAVA_OPTS} instead when that is set.
 * </ul>
 */
public final class DaemonBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String POLICY =
      "allow 192.0.2.10 port 443\nallow 192.0.2.11 port 443\nallow 198.51.100.0/24 port 8443\n"
          + "allow 203.0.113.7 port 5432-5433\nallow gateway port 3001\ndns gateway\n";

  private DaemonBenchmark() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "overhead";
    if (mode.equals("overhead")) {
      overhead(args.length > 1 ? Integer.parseInt(args[1]) : 5000);
    } else if (mode.equals("scale")) {
      scale(
          args.length > 1 ? Integer.parseInt(args[1]) : 200,
          args.length > 2 ? Integer.parseInt(args[2]) : 120);
    } else {
      throw new IllegalArgumentException("modes: overhead [N] | scale [N] [IDLE_SECONDS]");
    }
  }

  private static void overhead(int runs) throws Exception {
    EgressPolicy policy = PolicyText.parse(POLICY, "bench");
    ContainerEndpoint endpoint =
        new ContainerEndpoint(
            ContainerId.of("c1"),
            List.of(IpAddresses.parse("10.213.0.5")),
            IpAddresses.parse("10.213.0.1"));
    InMemoryEgressEnforcer direct =
        InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).build();
    List<Long> inProcess = new ArrayList<>();
    for (int i = 0; i < 2 * runs; i++) {
      long start = System.nanoTime();
      Attachment attachment = direct.attach(endpoint, policy);
      long took = System.nanoTime() - start;
      attachment.detach();
      if (i >= runs) {
        inProcess.add(took);
      }
    }

    Path directory = Files.createTempDirectory(Path.of("/dev/shm"), "egressd-bench-");
    String request =
        "{\"id\":1,\"command\":\"attach\",\"args\":{\"container\":{\"id\":\"c1\",\"addresses\":"
            + "[\"10.213.0.5\"],\"gateway\":\"10.213.0.1\"},\"policy\":{\"text\":"
            + JSON.writeValueAsString(POLICY)
            + "}}}\n";
    String detach = "{\"id\":2,\"command\":\"detach\",\"args\":{\"containerId\":\"c1\"}}\n";
    List<Long> throughSocket = new ArrayList<>();
    try (TestDaemon daemon = TestDaemon.start(directory);
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      channel.connect(UnixDomainSocketAddress.of(directory.resolve("run/egressd.sock")));
      OutputStream out = Channels.newOutputStream(channel);
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
      byte[] attachBytes = request.getBytes(StandardCharsets.UTF_8);
      byte[] detachBytes = detach.getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < 2 * runs; i++) {
        long start = System.nanoTime();
        out.write(attachBytes);
        out.flush();
        String answer = in.readLine();
        long took = System.nanoTime() - start;
        if (answer == null || !answer.contains("\"ok\":true")) {
          throw new IllegalStateException("attach failed: " + answer);
        }
        out.write(detachBytes);
        out.flush();
        in.readLine();
        if (i >= runs) {
          throughSocket.add(took);
        }
      }
    } finally {
      deleteTree(directory);
    }
    System.out.printf("attach of a 5-line policy, %d runs each after %d to warm up%n", runs, runs);
    System.out.printf("in-process (in-memory enforcer): %s%n", percentiles(inProcess));
    System.out.printf("through egressd's socket:        %s%n", percentiles(throughSocket));
    System.out.printf(
        "overhead: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms%n",
        millis(percentile(throughSocket, 50) - percentile(inProcess, 50)),
        millis(percentile(throughSocket, 90) - percentile(inProcess, 90)),
        millis(percentile(throughSocket, 99) - percentile(inProcess, 99)));
  }

  private static void scale(int containers, int idleSeconds) throws Exception {
    if (containers < 1 || containers > 250) {
      throw new IllegalArgumentException("1-250 containers (one /24), not " + containers);
    }
    String namespace = "egbench" + ProcessHandle.current().pid();
    Path directory = Files.createTempDirectory("egressd-bench-");
    Files.setPosixFilePermissions(
        directory, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    run("ip", "netns", "add", namespace);
    Process daemon = null;
    try {
      Files.createDirectories(directory.resolve("policies"));
      Path socket = directory.resolve("run/egressd.sock");
      Files.writeString(
          directory.resolve("egressd.conf"),
          "managed-network 10.213.0.0/24\n"
              + "policy-directory "
              + directory.resolve("policies")
              + "\n"
              + "socket "
              + socket
              + "\n"
              + "state-file /dev/shm/"
              + namespace
              + "-state.json\n"
              + "allow-users root\n");
      List<String> command =
          new ArrayList<>(
              List.of(
                  "ip",
                  "netns",
                  "exec",
                  namespace,
                  ProcessHandle.current().info().command().orElse("java")));
      // The service's JVM options, or those EGRESSD_JAVA_OPTS gives instead (as ./egressd does)
      String options = System.getenv("EGRESSD_JAVA_OPTS");
      command.addAll(
          options == null
              ? TestDaemon.JAVA_OPTIONS
              : Stream.of(options.trim().split("\\s+"))
                  .filter(option -> !option.isEmpty())
                  .toList());
      command.addAll(
          List.of(
              "-cp",
              System.getProperty("java.class.path"),
              "dev.egress.daemon.Egressd",
              "--config",
              directory.resolve("egressd.conf").toString()));
      long spawned = System.nanoTime();
      daemon =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(directory.resolve("egressd.log").toFile())
              .start();
      SocketChannel channel = connect(socket, daemon);
      System.out.printf(
          "egressd accepting connections after %d ms%n", (System.nanoTime() - spawned) / 1_000_000);
      OutputStream out = Channels.newOutputStream(channel);
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
      List<Long> latencies = new ArrayList<>();
      for (int i = 0; i < containers; i++) {
        ObjectNode attach =
            (ObjectNode)
                JSON.readTree(
                    "{\"id\":1,\"command\":\"attach\",\"args\":{\"container\":{\"id\":\"c"
                        + i
                        + "\",\"addresses\":[\"10.213.0."
                        + (i + 2)
                        + "\"],\"gateway\":\"10.213.0.1\"},\"policy\":{\"text\":"
                        + JSON.writeValueAsString(POLICY)
                        + "}}}");
        long start = System.nanoTime();
        out.write((attach + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        JsonNode answer = JSON.readTree(in.readLine());
        latencies.add(System.nanoTime() - start);
        if (!answer.get("ok").asBoolean()) {
          throw new IllegalStateException("attach failed: " + answer);
        }
      }
      long pid = daemon.pid();
      System.out.printf(
          "attached %d containers through egressd (nftables, real kernel, JVM options %s)%n",
          containers, String.join(" ", command.subList(5, command.indexOf("-cp"))));
      System.out.printf("attach latency through the socket: %s%n", percentiles(latencies));
      System.out.printf(
          "daemon: resident memory %s, open file descriptors %d, threads %d%n",
          statusField(pid, "VmRSS"),
          openFiles(pid),
          Integer.parseInt(statusField(pid, "Threads").trim()));
      channel.close(); // idle: no client connected
      Thread.sleep(2000);
      long[] before = cpuTicks(pid);
      Map<Long, ThreadTicks> threadsBefore = threadTicks(pid);
      long startNanos = System.nanoTime();
      Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
      long[] after = cpuTicks(pid);
      Map<Long, ThreadTicks> threadsAfter = threadTicks(pid);
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      System.out.printf(
          "idle for %.0f s (health check every 30 s, policy re-read every 10 s): daemon %.2f%% of"
              + " one core, the nft processes it ran %.2f%%%n",
          seconds,
          100.0 * (after[0] - before[0]) / 100 / seconds,
          100.0 * (after[1] - before[1]) / 100 / seconds);
      printThreadSplit(threadsBefore, threadsAfter, after[0] - before[0], seconds);
      System.out.printf(
          "after idling: resident memory %s, open file descriptors %d, threads %d%n",
          statusField(pid, "VmRSS"),
          openFiles(pid),
          Integer.parseInt(statusField(pid, "Threads").trim()));
    } finally {
      if (daemon != null) {
        daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      run("ip", "netns", "del", namespace);
      Files.deleteIfExists(Path.of("/dev/shm/" + namespace + "-state.json"));
      deleteTree(directory);
    }
  }

  private static SocketChannel connect(Path socket, Process daemon) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && daemon.isAlive()) {
      try {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        return channel;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("egressd did not start; see its log");
  }

  /** The process's own CPU ticks and those of its children that it waited for. */
  private static long[] cpuTicks(long pid) throws IOException {
    String[] fields = statFields(Files.readString(Path.of("/proc/" + pid + "/stat")));
    return new long[] {
      Long.parseLong(fields[11]) + Long.parseLong(fields[12]),
      Long.parseLong(fields[13]) + Long.parseLong(fields[14])
    };
  }

  /**
   * The fields of a {@code stat} file after the name, from the state on: [11] to [14] are utime,
   * stime, cutime and cstime (fields 14-17 of proc(5)).
   */
  private static String[] statFields(String stat) {
    return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
  }

  /** A thread's name and CPU ticks so far. */
  private record ThreadTicks(String name, long ticks) {}

  /** Each live thread of the process, by thread id. */
  private static Map<Long, ThreadTicks> threadTicks(long pid) throws IOException {
    Map<Long, ThreadTicks> threads = new HashMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : tasks.toList()) {
        try {
          String stat = Files.readString(task.resolve("stat"));
          String[] fields = statFields(stat);
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          threads.put(
              Long.parseLong(task.getFileName().toString()),
              new ThreadTicks(name, Long.parseLong(fields[11]) + Long.parseLong(fields[12])));
        } catch (NoSuchFileException ended) {
          // the thread ended while the directory was read
        }
      }
    }
    return threads;
  }

  /**
   * Where the daemon's own CPU went, by thread name (the kernel's 15-character name): threads that
   * lived through the window, and the rest (threads started and ended within it, such as those that
   * start and drain each nft process).
   */
  private static void printThreadSplit(
      Map<Long, ThreadTicks> before, Map<Long, ThreadTicks> after, long total, double seconds) {
    Map<String, Long> byName = new TreeMap<>();
    long accounted = 0;
    for (Map.Entry<Long, ThreadTicks> thread : after.entrySet()) {
      ThreadTicks earlier = before.get(thread.getKey());
      long ticks = thread.getValue().ticks() - (earlier == null ? 0 : earlier.ticks());
      byName.merge(thread.getValue().name().replaceAll("[0-9]+$", "N"), ticks, Long::sum);
      accounted += ticks;
    }
    byName.put("(threads that ended)", total - accounted);
    System.out.println("daemon's CPU by thread (share of one core):");
    byName.entrySet().stream()
        .filter(entry -> entry.getValue() > 0)
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(
            entry ->
                System.out.printf(
                    "  %-22s %5d ticks %.3f%%%n",
                    entry.getKey(), entry.getValue(), entry.getValue() / seconds));
  }

  private static String statusField(long pid, String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith(field + ":")) {
        return line.substring(field.length() + 1).trim();
      }
    }
    throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
  }

  private static long openFiles(long pid) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.count();
    }
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).inheritIO().start();
    if (process.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed");
    }
  }

  private static String percentiles(List<Long> nanos) {
    return String.format(
        "p50 %.3f ms, p90 %.3f ms, p99 %.3f ms",
        millis(percentile(nanos, 50)),
        millis(percentile(nanos, 90)),
        millis(percentile(nanos, 99)));
  }

  private static long percentile(List<Long> nanos, int percent) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    return sorted.get(Math.min(sorted.size() - 1, sorted.size() * percent / 100));
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }

  private static void deleteTree(Path directory) throws IOException {
    try (Stream<Path> files = Files.walk(directory)) {
      for (Path file : files.sorted(Collections.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    }
  }
}
