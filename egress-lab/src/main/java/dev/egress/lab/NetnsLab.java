package dev.egress.lab;

import dev.egress.enforcer.ContainerId;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A network lab on one Linux machine, in network namespaces of its own: a "host" namespace routes
 * between "container" namespaces (each a veth on the host's bridge, like Docker's) and an
 * "internet" namespace that serves TCP echo ({@link #TCP_PORTS}), UDP echo ({@link #UDP_PORTS}) and
 * DNS on every one of its addresses ({@link #web}, {@link #webV6}, {@link #dnsServer()}, {@link
 * #otherDnsServer()}). The host itself serves TCP on {@link #HOST_SERVICE_PORTS} on every address,
 * the gateway included (the input path), and DNS on the gateway; all DNS servers answer from {@link
 * #names()}.
 *
 * <p>Addresses: containers 10.77.0.2… and fd00:77::2… (and link-local fe80::77:2…) behind the
 * gateway 10.77.0.1 / fd00:77::1 (fe80::1 on the link) on bridge {@link #BRIDGE}; internet servers
 * 10.99.0.10… and fd00:99::10…; nothing outside private and ULA ranges, and nothing outside the
 * lab's namespaces. Packet filters under test run in {@link #hostNamespace()}: prefix their
 * commands with {@link #inHost}.
 *
 * <p>Namespace names start with {@code egl<pid>-}; {@link #close} removes them, and every {@link
 * #start} first sweeps namespaces left by processes that are gone (a crashed test run). Requires
 * root, iproute2 and a JVM (the lab runs one small {@link LabAgent} per namespace).
 *
 * <p>Thread-safe. Setup and each probe are bounded in time; setup fails with IOException naming the
 * command that failed, after removing what it had created.
 */
public final class NetnsLab implements AutoCloseable {
  /** Internet TCP echo ports, on every internet address (port 53 is DNS over TCP). */
  public static final List<Integer> TCP_PORTS = List.of(80, 443, 5432, 5433, 8443);

  /** The internet's main UDP echo port. */
  public static final int UDP_PORT = 7000;

  /** Internet UDP echo ports, on every internet address. */
  public static final List<Integer> UDP_PORTS = List.of(3478, UDP_PORT);

  /** TCP echo ports of the host namespace itself, on every host address. */
  public static final List<Integer> HOST_SERVICE_PORTS = List.of(2222, 3001);

  /** The bridge the container namespaces hang off, in the host namespace. */
  public static final String BRIDGE = "eglbr0";

  /** The number of internet web addresses, per family. */
  public static final int WEB_ADDRESSES = 3;

  private static final String PREFIX = "egl";
  private static final Pattern OURS = Pattern.compile("^" + PREFIX + "(\\d+)-\\S+");
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  static final Duration STEP_TIMEOUT = Duration.ofSeconds(20);
  private static final ProcessRunner PROCESSES = new SystemProcessRunner();

  private final String name;
  private final List<String> namespaces = new ArrayList<>();
  private final List<Agent> agents = Collections.synchronizedList(new ArrayList<>());
  private final List<LabContainer> containers = new ArrayList<>();
  private final Duration probeTimeout;
  private @Nullable Agent internet;
  private @Nullable Agent host;
  private @Nullable LabNames names;

  private NetnsLab(String name, Duration probeTimeout) {
    this.name = name;
    this.probeTimeout = probeTimeout;
  }

  /**
   * Why a lab cannot run here (not Linux, not root, a command missing from PATH), or empty when it
   * can.
   *
   * @param extraCommands commands the caller also needs, such as {@code nft} or {@code conntrack}
   */
  public static Optional<String> unavailableReason(String... extraCommands) {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return Optional.of("network namespaces need Linux; this is " + System.getProperty("os.name"));
    }
    try {
      String status = Files.readString(Path.of("/proc/self/status"));
      Matcher uid = Pattern.compile("(?m)^Uid:\\s+(\\d+)\\s+(\\d+)").matcher(status);
      if (!uid.find() || !uid.group(2).equals("0")) {
        return Optional.of("network namespaces need root; run as root (sudo)");
      }
    } catch (IOException e) {
      return Optional.of("cannot read /proc/self/status: " + e.getMessage());
    }
    List<String> needed = new ArrayList<>(List.of("ip"));
    needed.addAll(List.of(extraCommands));
    for (String command : needed) {
      if (findOnPath(command).isEmpty()) {
        return Optional.of(
            "'"
                + command
                + "' is not on PATH; install it (Debian: "
                + debianPackage(command)
                + ")");
      }
    }
    return Optional.empty();
  }

  private static String debianPackage(String command) {
    switch (command) {
      case "ip":
        return "apt-get install iproute2";
      case "nft":
        return "apt-get install nftables";
      default:
        return "apt-get install " + command;
    }
  }

  private static Optional<Path> findOnPath(String command) {
    String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for (String dir : path.split(":")) {
      Path candidate = Path.of(dir, command);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Starts a lab with {@code containerCount} (1-8) container namespaces, probes timing out at 1.5
   * s.
   */
  public static NetnsLab start(int containerCount) throws IOException {
    return start(containerCount, Duration.ofMillis(1500));
  }

  /**
   * Starts a lab.
   *
   * @param containerCount 1-8 container namespaces, with ids {@code c1}, {@code c2}, ...
   * @param probeTimeout how long a probe waits for an answer before reporting a timeout
   * @throws IOException if a step failed; nothing of the lab is left behind
   */
  public static NetnsLab start(int containerCount, Duration probeTimeout) throws IOException {
    if (containerCount < 1 || containerCount > 8) {
      throw new IllegalArgumentException("a lab has 1-8 containers, not " + containerCount);
    }
    sweepStale();
    String name = PREFIX + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    NetnsLab lab = new NetnsLab(name, probeTimeout);
    try {
      lab.build(containerCount);
      return lab;
    } catch (IOException | RuntimeException e) {
      lab.close();
      throw e;
    }
  }

  private void build(int containerCount) throws IOException {
    String hostNs = name + "-h";
    String internetNs = name + "-i";
    for (String ns : allNamespaces(hostNs, internetNs, containerCount)) {
      check(List.of("ip", "netns", "add", ns), "");
      namespaces.add(ns);
    }
    StringBuilder hostBatch = new StringBuilder();
    hostBatch
        .append("link set lo up\n")
        .append("link add up0 type veth peer name eth0 netns ")
        .append(internetNs)
        .append('\n')
        .append("address add 10.98.0.1/24 dev up0\n")
        .append("address add fd00:98::1/64 dev up0 nodad\n")
        .append("link set up0 up\n")
        .append("link add ")
        .append(BRIDGE)
        .append(" type bridge\n")
        .append("address add 10.77.0.1/24 dev ")
        .append(BRIDGE)
        .append('\n')
        .append("address add fd00:77::1/64 dev ")
        .append(BRIDGE)
        .append(" nodad\n")
        .append("address add ")
        .append(IpAddresses.format(gatewayLinkLocal()))
        .append("/64 dev ")
        .append(BRIDGE)
        .append(" nodad\n")
        .append("link set ")
        .append(BRIDGE)
        .append(" up\n");
    for (int i = 1; i <= containerCount; i++) {
      hostBatch
          .append("link add vc")
          .append(i)
          .append(" type veth peer name eth0 netns ")
          .append(containerNs(i))
          .append('\n')
          .append("link set vc")
          .append(i)
          .append(" master ")
          .append(BRIDGE)
          .append(" up\n");
    }
    hostBatch
        .append("route add 10.99.0.0/24 via 10.98.0.2\n")
        .append("route add fd00:99::/64 via fd00:98::2\n");
    batch(hostNs, hostBatch.toString());
    sysctl(hostNs, "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding");

    batch(internetNs, internetSetup());

    for (int i = 1; i <= containerCount; i++) {
      batch(
          containerNs(i),
          "link set lo up\n"
              + "address add 10.77.0."
              + (i + 1)
              + "/24 dev eth0\n"
              + "address add fd00:77::"
              + (i + 1)
              + "/64 dev eth0 nodad\n"
              + "address add "
              + IpAddresses.format(containerLinkLocal(i))
              + "/64 dev eth0 nodad\n"
              + "link set eth0 up\n"
              + "route add default via 10.77.0.1\n"
              + "route add ::/0 via fd00:77::1\n");
    }
    startAgents(hostNs, internetNs, containerCount);
    awaitRoutes();
  }

  /**
   * Waits until every container reaches the gateway (over IPv4, IPv6 and the link) and the internet
   * over IPv4 and IPv6, with no filter loaded yet: IPv6 neighbour discovery and the bridge settle
   * in the first moments, and a probe that runs before then fails for reasons that have nothing to
   * do with a filter.
   */
  private void awaitRoutes() throws IOException {
    for (LabContainer container : containers) {
      List<InetAddress> hosts = List.of(gateway(), gatewayV6(), gatewayLinkLocal());
      for (InetAddress target :
          List.of(gateway(), gatewayV6(), gatewayLinkLocal(), web(0), webV6(0))) {
        int port = hosts.contains(target) ? HOST_SERVICE_PORTS.get(0) : TCP_PORTS.get(0);
        Outcome outcome = Outcome.TIMEOUT;
        for (int attempt = 0; attempt < 20 && !outcome.reached(); attempt++) {
          outcome =
              target.isLinkLocalAddress()
                  ? container.tcpOnLink(target, port)
                  : container.tcp(target, port);
          if (!outcome.reached()) {
            sleep(Duration.ofMillis(100));
          }
        }
        if (!outcome.reached()) {
          throw new IOException(
              container
                  + " cannot reach "
                  + IpAddresses.format(target)
                  + ":"
                  + port
                  + " in the unfiltered lab ("
                  + outcome
                  + "): the lab's routing is broken");
        }
      }
    }
  }

  private static void sleep(Duration duration) throws IOException {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the lab's routes", e);
    }
  }

  private List<String> allNamespaces(String hostNs, String internetNs, int containerCount) {
    List<String> all = new ArrayList<>(List.of(hostNs, internetNs));
    for (int i = 1; i <= containerCount; i++) {
      all.add(containerNs(i));
    }
    return all;
  }

  private String containerNs(int index) {
    return name + "-c" + index;
  }

  private void startAgents(String hostNs, String internetNs, int containerCount)
      throws IOException {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String classPath = System.getProperty("java.class.path");
    List<String> toStart = new ArrayList<>(List.of(hostNs, internetNs));
    Agent host;
    Agent internet;
    for (int i = 1; i <= containerCount; i++) {
      toStart.add(containerNs(i));
    }
    ExecutorService starter = Executors.newFixedThreadPool(toStart.size());
    try {
      List<Future<Agent>> started = new ArrayList<>();
      for (String ns : toStart) {
        started.add(starter.submit(() -> Agent.start(ns, java, classPath, STEP_TIMEOUT)));
      }
      List<Agent> ready = new ArrayList<>();
      IOException failure = null;
      for (Future<Agent> future : started) {
        try {
          Agent agent = future.get(STEP_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
          ready.add(agent);
          agents.add(agent);
        } catch (ExecutionException e) {
          failure = new IOException("could not start a lab agent: " + e.getMessage(), e);
        } catch (TimeoutException e) {
          future.cancel(true);
          failure = new IOException("a lab agent did not start within " + STEP_TIMEOUT, e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while starting the lab", e);
        }
      }
      if (failure != null) {
        throw failure;
      }
      host = ready.get(0);
      internet = ready.get(1);
      this.host = host;
      this.internet = internet;
      this.names = new LabNames(List.of(internet, host));
      for (int i = 1; i <= containerCount; i++) {
        containers.add(
            new LabContainer(
                this,
                ContainerId.of("c" + i),
                containerNs(i),
                IpAddresses.parse("10.77.0." + (i + 1)),
                IpAddresses.parse("fd00:77::" + (i + 1)),
                gateway(),
                containerLinkLocal(i),
                ready.get(i + 1),
                probeTimeout));
      }
    } finally {
      starter.shutdownNow();
    }
    for (int port : HOST_SERVICE_PORTS) {
      host.ask("tcp-echo " + port + " ::", STEP_TIMEOUT);
    }
    // Like Docker's embedded DNS and Apple's mDNSResponder proxy: a resolver on the gateway.
    host.ask("dns " + IpAddresses.format(gateway()), STEP_TIMEOUT);
    serveInternet(internet);
  }

  /**
   * The {@code ip -batch} of the internet namespace: its addresses on {@code eth0}, the link
   * 10.98.0.2 / fd00:98::2 and its routes back through 10.98.0.1 / fd00:98::1.
   */
  static String internetSetup() {
    StringBuilder batch =
        new StringBuilder("link set lo up\n")
            .append("address add 10.98.0.2/24 dev eth0\n")
            .append("address add fd00:98::2/64 dev eth0 nodad\n");
    for (InetAddress address : internetAddresses()) {
      batch
          .append("address add ")
          .append(IpAddresses.format(address))
          .append(IpAddresses.isIpv6(address) ? "/64 dev eth0 nodad\n" : "/24 dev eth0\n");
    }
    return batch
        .append("link set eth0 up\n")
        .append("route add default via 10.98.0.1\n")
        .append("route add ::/0 via fd00:98::1\n")
        .toString();
  }

  /** Starts the internet's servers in the agent {@code internet}. */
  static void serveInternet(Agent internet) throws IOException {
    for (int port : TCP_PORTS) {
      internet.ask("tcp-echo " + port + " ::", STEP_TIMEOUT);
    }
    // Every internet address answers DNS and UDP echo, so that a probe tells the filter's
    // verdict apart from a closed port.
    for (InetAddress address : internetAddresses()) {
      for (int port : UDP_PORTS) {
        internet.ask("udp-echo " + port + " " + IpAddresses.format(address), STEP_TIMEOUT);
      }
      internet.ask("dns " + IpAddresses.format(address), STEP_TIMEOUT);
    }
  }

  static void batch(String namespace, String commands) throws IOException {
    check(List.of("ip", "-n", namespace, "-batch", "-"), commands);
  }

  private static void sysctl(String namespace, String... keys) throws IOException {
    StringBuilder script = new StringBuilder();
    for (String key : keys) {
      script.append("echo 1 > /proc/sys/").append(key).append(" && ");
    }
    script.append("true");
    check(List.of("ip", "netns", "exec", namespace, "sh", "-c", script.toString()), "");
  }

  /** Runs one setup step, bounded by {@link #STEP_TIMEOUT}. */
  static ProcessResult run(List<String> command, String stdin) throws IOException {
    try {
      return PROCESSES.run(new Command(command, stdin, STEP_TIMEOUT));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", command), e);
    }
  }

  /** Runs one setup step and fails with its stderr (and input) unless it exits 0. */
  static String check(List<String> command, String stdin) throws IOException {
    ProcessResult result = run(command, stdin);
    if (!result.succeeded()) {
      throw new IOException(
          String.join(" ", command)
              + " exited "
              + result.exitCode()
              + ": "
              + result.stderr().strip()
              + (stdin.isEmpty() ? "" : "\ninput was:\n" + stdin));
    }
    return result.stdout();
  }

  static List<InetAddress> internetAddresses() {
    List<InetAddress> all = new ArrayList<>();
    for (int i = 0; i < WEB_ADDRESSES; i++) {
      all.add(web(i));
      all.add(webV6(i));
    }
    all.addAll(List.of(dnsServer(), otherDnsServer(), dnsServerV6()));
    return all;
  }

  /**
   * Removes namespaces whose owning process no longer runs (left by a crashed run), after killing
   * the lab agents still inside them.
   *
   * @return how many namespaces were removed
   */
  public static int sweepStale() throws IOException {
    int removed = 0;
    for (String line : check(List.of("ip", "netns", "list"), "").split("\n")) {
      Matcher ours = OURS.matcher(line.strip());
      if (!ours.find()) {
        continue;
      }
      long owner = Long.parseLong(ours.group(1));
      if (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
        continue;
      }
      String ns = line.strip().split("\\s+")[0];
      delete(ns);
      removed++;
    }
    return removed;
  }

  static void delete(String namespace) throws IOException {
    ProcessResult pids = run(List.of("ip", "netns", "pids", namespace), "");
    for (String pid : pids.stdout().split("\\s+")) {
      if (!pid.isBlank()) {
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    run(List.of("ip", "netns", "del", namespace), "");
  }

  /** The name of the namespace that routes and filters, where packet filters are loaded. */
  public String hostNamespace() {
    return name + "-h";
  }

  /** {@code command} prefixed so that it runs in the host namespace. */
  public List<String> inHost(String... command) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", hostNamespace()));
    full.addAll(List.of(command));
    return full;
  }

  /** Container {@code index}, counting from 1 like the ids {@code c1}, {@code c2}. */
  public LabContainer container(int index) {
    return containers.get(index - 1);
  }

  /** The containers' IPv4 gateway, the host's address on the bridge. */
  public InetAddress gateway() {
    return IpAddresses.parse("10.77.0.1");
  }

  /** The host's IPv6 address on the bridge. */
  public InetAddress gatewayV6() {
    return IpAddresses.parse("fd00:77::1");
  }

  /**
   * The host's link-local address on the bridge (one the lab adds, usable at once; the kernel's own
   * may still be in duplicate address detection).
   */
  public InetAddress gatewayLinkLocal() {
    return IpAddresses.parse("fe80::1");
  }

  private static InetAddress containerLinkLocal(int index) {
    return IpAddresses.parse("fe80::77:" + (index + 1));
  }

  /**
   * Where the kernel shows the host namespace's network state, routes included: {@code
   * /proc/PID/net} of a process running there.
   */
  public Path hostProcNet() {
    Agent host = java.util.Objects.requireNonNull(this.host, "the lab is closed");
    return Path.of("/proc", Long.toString(host.pid()), "net");
  }

  /** The containers' networks, for a guard. */
  public List<IpNetwork> containerNetworks() {
    return List.of(IpNetwork.parse("10.77.0.0/24"), IpNetwork.parse("fd00:77::/64"));
  }

  /** IPv4 web address {@code index} (0 to {@link #WEB_ADDRESSES} - 1) of the internet. */
  public static InetAddress web(int index) {
    return IpAddresses.parse("10.99.0." + (10 + index));
  }

  /** IPv6 web address {@code index} of the internet. */
  public static InetAddress webV6(int index) {
    return IpAddresses.parse("fd00:99::" + (10 + index));
  }

  /** The DNS server policies name. */
  public static InetAddress dnsServer() {
    return IpAddresses.parse("10.99.0.53");
  }

  /** A second DNS server with the same records, which policies do not name. */
  public static InetAddress otherDnsServer() {
    return IpAddresses.parse("10.99.0.54");
  }

  /** The DNS server's IPv6 address. */
  public static InetAddress dnsServerV6() {
    return IpAddresses.parse("fd00:99::53");
  }

  /** The lab's DNS records, and a resolver that reads them. */
  public LabNames names() {
    return java.util.Objects.requireNonNull(names, "the lab is closed");
  }

  /**
   * Opens and closes a TCP connection from the host namespace itself, to one of its own addresses
   * (the traffic loops back on {@code lo}) or anywhere else.
   */
  public Outcome hostTcp(InetAddress target, int port) throws IOException {
    Agent host = java.util.Objects.requireNonNull(this.host, "the lab is closed");
    return Outcome.parse(
        host.ask(
            "connect - " + IpAddresses.format(target) + " " + port + " " + probeTimeout.toMillis(),
            probeTimeout.plusSeconds(5)));
  }

  /** How many TCP connections the internet's echo server on {@code port} has accepted so far. */
  public int acceptedOnInternet(int port) throws IOException {
    Agent internet = java.util.Objects.requireNonNull(this.internet, "the lab is closed");
    return Integer.parseInt(internet.ask("accepted " + port, STEP_TIMEOUT));
  }

  /**
   * How many queries (any type) for {@code name} the internet's DNS servers ({@link #dnsServer()},
   * {@link #otherDnsServer()} and the rest) have received so far.
   */
  public int internetDnsQueries(String name) throws IOException {
    Agent internet = java.util.Objects.requireNonNull(this.internet, "the lab is closed");
    return Integer.parseInt(internet.ask("queries " + name, STEP_TIMEOUT));
  }

  /** How many UDP datagrams the internet's echo servers on {@code port} have received so far. */
  public int receivedOnInternet(int port) throws IOException {
    Agent internet = java.util.Objects.requireNonNull(this.internet, "the lab is closed");
    return Integer.parseInt(internet.ask("received " + port, STEP_TIMEOUT));
  }

  /**
   * Starts a UDP echo server in the host namespace on {@code address:port} (one of its own), for
   * tests of what reaches the host; {@link #receivedOnHost} counts what it received.
   */
  public void hostUdpEcho(InetAddress address, int port) throws IOException {
    Agent host = java.util.Objects.requireNonNull(this.host, "the lab is closed");
    host.ask("udp-echo " + port + " " + IpAddresses.format(address), STEP_TIMEOUT);
  }

  /** How many UDP datagrams the host's echo servers on {@code port} have received so far. */
  public int receivedOnHost(int port) throws IOException {
    Agent host = java.util.Objects.requireNonNull(this.host, "the lab is closed");
    return Integer.parseInt(host.ask("received " + port, STEP_TIMEOUT));
  }

  /** Runs {@code command} in {@code namespace} of this lab and returns its stdout. */
  public String exec(String namespace, String... command) throws IOException {
    if (!namespaces.contains(namespace)) {
      throw new IllegalArgumentException(namespace + " is not a namespace of this lab");
    }
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
    full.addAll(List.of(command));
    return check(full, "");
  }

  /** Stops the agents and removes every namespace of the lab. Idempotent. */
  @Override
  public void close() {
    if (names != null) {
      names.close();
    }
    synchronized (agents) {
      agents.forEach(Agent::close);
      agents.clear();
    }
    for (String ns : namespaces) {
      try {
        delete(ns);
      } catch (IOException e) {
        // The sweep of the next lab removes it: the name carries our pid.
      }
    }
    namespaces.clear();
  }

  @Override
  public String toString() {
    return "lab " + name;
  }
}
