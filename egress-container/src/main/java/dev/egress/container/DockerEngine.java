package dev.egress.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Docker, driven through its Engine API (HTTP over the daemon's Unix socket, {@link EngineHttp}): a
 * {@link ContainerRuntime} that creates containers stopped, on a managed user-defined network, at
 * an address it chooses, so that the policy is attached before the container sends its first
 * packet. The API rather than the {@code docker} CLI because a launch takes several calls, and each
 * CLI call costs a process start (about 100 ms idle, 300 ms on a loaded host), more than the
 * daemon's own work.
 *
 * <p>Why one class of this size: it is the whole Docker runtime (network, address allocation,
 * create, start, stop, exec), each step one or two requests whose JSON it reads in place, and the
 * address allocation's lock spans create; the HTTP transport is {@link EngineHttp}'s.
 *
 * <p><b>The managed network</b> ({@link #ensureNetwork}) is a bridge network whose Linux bridge has
 * a fixed name (option {@code com.docker.network.bridge.name}), so that the enforcer's guard can
 * name it; its gateway is the subnet's first address. An existing network of that name is used only
 * if it has the same subnets and bridge: otherwise containers could get addresses the guard does
 * not cover.
 *
 * <p><b>Addresses</b>: {@link #create} gives each container the lowest host address of the subnet
 * that no container of this network uses (IPv6: the same host number in the IPv6 prefix), and
 * records it in the label {@value #ADDRESS_LABEL}. Addresses in use are those of every container,
 * running or not, that carries the label (listed at each create), plus those of creates in flight
 * in this process: a launcher that crashed leaves its containers' addresses taken until they are
 * removed, and a new launcher reads them back. An address becomes free once its container is
 * removed ({@link #stop} removes it).
 *
 * <p>Thread-safe; every request blocks for at most the timeout; none retries.
 */
public final class DockerEngine implements ContainerRuntime {
  /** The label holding the address a container was created with. */
  public static final String ADDRESS_LABEL = "dev.egress.address";

  /** Where the Docker daemon listens unless configured otherwise. */
  public static final Path DEFAULT_SOCKET = Path.of("/var/run/docker.sock");

  private static final String BRIDGE_OPTION = "com.docker.network.bridge.name";
  private static final Pattern BRIDGE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
  private static final int EXEC_OUTPUT_LIMIT = 1 << 20;
  private static final int EXIT_CODE_POLLS = 100;

  private final EngineHttp http;
  private final String bridge;
  private final ProcessRunner ip;
  private final Duration timeout;
  private final DockerJson json = new DockerJson();
  private final ObjectMapper mapper = new ObjectMapper();
  private final Set<InetAddress> creating = new HashSet<>(); // guarded by this
  private volatile @Nullable Managed managed;

  /** The managed network once {@link #ensureNetwork} found or made it. */
  private record Managed(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet) {}

  /**
   * @param socket the daemon's Unix socket, usually {@link #DEFAULT_SOCKET}
   * @param timeout how long one request may take before its connection is closed and it fails
   * @param bridge the Linux bridge name the managed network gets (1-15 of letters, digits, {@code _
   *     . -}): the name to give the enforcer's guard
   * @param ip runs {@code ip} when a network with an IPv6 subnet is created (see {@link
   *     #ensureNetwork})
   */
  public DockerEngine(Path socket, Duration timeout, String bridge, ProcessRunner ip) {
    this.http = new EngineHttp(socket, timeout);
    this.ip = Objects.requireNonNull(ip, "ip");
    this.timeout = timeout;
    if (!BRIDGE.matcher(bridge).matches()) {
      throw new IllegalArgumentException(
          "'" + bridge + "' is not a bridge name: 1-15 letters, digits, '_', '.' or '-'");
    }
    this.bridge = bridge;
  }

  /** The daemon at {@link #DEFAULT_SOCKET}, with a 60 s timeout per request. */
  public static DockerEngine local(String bridge) {
    return new DockerEngine(
        DEFAULT_SOCKET, Duration.ofSeconds(60), bridge, new SystemProcessRunner());
  }

  @Override
  public String command() {
    return "docker";
  }

  /** The Linux bridge of the managed network. */
  public String bridge() {
    return bridge;
  }

  /**
   * Reads the network {@code name}, and creates it when it is missing; a new network's IPv6 gateway
   * address is added again without duplicate address detection ({@code ip}, root), so that the
   * first container's IPv6 connections work at once.
   *
   * @throws ContainerCliException if it could not be created, or exists with other subnets or
   *     another bridge name
   */
  @Override
  public void ensureNetwork(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet)
      throws ContainerCliException, InterruptedException {
    if (subnet.isIpv6() || (ipv6Subnet != null && !ipv6Subnet.isIpv6())) {
      throw new IllegalArgumentException("the subnet is IPv4 and the second one IPv6");
    }
    List<String> subnets = new ArrayList<>(List.of(subnet.toString()));
    if (ipv6Subnet != null) {
      subnets.add(ipv6Subnet.toString());
    }
    EngineHttp.Response inspect = http.send("GET", "/networks/" + encode(name), null);
    if (inspect.ok()) {
      DockerJson.Network existing = json.network(inspect.text());
      if (!new HashSet<>(existing.subnets()).equals(new HashSet<>(subnets))
          || !bridge.equals(existing.bridge())) {
        throw new ContainerCliException(
            "docker network "
                + name
                + " exists with subnets "
                + existing.subnets()
                + " and bridge "
                + existing.bridge()
                + ", not "
                + subnets
                + " and "
                + bridge
                + ": remove it ('docker network rm "
                + name
                + "') or configure the launcher as it is");
      }
    } else if (inspect.status() == 404) {
      ObjectNode request = mapper.createObjectNode().put("Name", name).put("Driver", "bridge");
      request.put("CheckDuplicate", true).put("EnableIPv6", ipv6Subnet != null);
      ArrayNode config = request.putObject("IPAM").putArray("Config");
      config.addObject().put("Subnet", subnet.toString()).put("Gateway", format(host(subnet, 1)));
      if (ipv6Subnet != null) {
        config
            .addObject()
            .put("Subnet", ipv6Subnet.toString())
            .put("Gateway", format(host(ipv6Subnet, 1)));
      }
      request.putObject("Options").put(BRIDGE_OPTION, bridge);
      expect(http.send("POST", "/networks/create", request.toString()), "create network " + name);
      if (ipv6Subnet != null) {
        readdWithoutDad(ipv6Subnet);
      }
    } else {
      throw failure(inspect, "inspect network " + name);
    }
    managed = new Managed(name, subnet, ipv6Subnet);
  }

  /**
   * Docker gives a new bridge its IPv6 gateway address tentative, and duplicate address detection
   * runs when the first container's link comes up: for one to two seconds the host answers no
   * neighbour solicitation for the gateway and a container's first IPv6 connections go nowhere.
   * Whether an address gets detection is decided when it is added, so the address is removed and
   * added again with {@code nodad}, while no container uses the new network. Detection protects
   * nothing here: Docker alone hands out addresses on a bridge only its containers join.
   */
  private void readdWithoutDad(IpNetwork ipv6Subnet)
      throws ContainerCliException, InterruptedException {
    String gateway = format(host(ipv6Subnet, 1)) + "/" + ipv6Subnet.prefixLength();
    for (List<String> argv :
        List.of(
            List.of("ip", "-6", "address", "del", gateway, "dev", bridge),
            List.of("ip", "-6", "address", "add", gateway, "dev", bridge, "nodad"))) {
      Command command = new Command(argv, "", timeout);
      ProcessResult result;
      try {
        result = ip.run(command);
      } catch (IOException e) {
        throw new ContainerCliException(
            "cannot run '" + command.shown() + "' (is iproute2 installed?): " + e.getMessage(), e);
      }
      if (!result.succeeded()) {
        throw new ContainerCliException(
            "'"
                + command.shown()
                + "' "
                + result.summary()
                + ": the managed network's IPv6 gateway is missing or still does duplicate address"
                + " detection; remove the network ('docker network rm') and start again as root");
      }
    }
  }

  /**
   * Creates the container stopped, on the managed network, at its next free address, with the
   * spec's resolvers as its DNS servers.
   *
   * @throws IllegalStateException if {@link #ensureNetwork} has not run, or {@code spec} names
   *     another network
   * @throws ContainerCliException if the daemon refused, or no address is free
   */
  @Override
  public void create(ContainerRunSpec spec) throws ContainerCliException, InterruptedException {
    Managed network = managed;
    if (network == null || !network.name().equals(spec.network())) {
      throw new IllegalStateException(
          "docker containers run on the managed network: call ensureNetwork first and give the"
              + " spec its name");
    }
    InetAddress address = reserve(network);
    try {
      InetAddress ipv6 = null;
      IpNetwork ipv6Subnet = network.ipv6Subnet();
      if (ipv6Subnet != null) {
        ipv6 = host(ipv6Subnet, hostNumber(network.subnet(), address));
      }
      expect(
          http.send(
              "POST",
              "/containers/create?name=" + encode(spec.name()),
              createRequest(spec, address, ipv6).toString()),
          "create container " + spec.name());
    } finally {
      synchronized (this) {
        creating.remove(address);
      }
    }
  }

  /** The body of {@code POST /containers/create} for {@code spec} at these addresses. */
  ObjectNode createRequest(ContainerRunSpec spec, InetAddress address, @Nullable InetAddress ipv6) {
    ObjectNode request = mapper.createObjectNode().put("Image", spec.image());
    if (!spec.command().isEmpty()) {
      ArrayNode command = request.putArray("Cmd");
      spec.command().forEach(command::add);
    }
    ArrayNode env = request.putArray("Env");
    spec.env().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> env.add(e.getKey() + "=" + e.getValue()));
    ObjectNode labels = request.putObject("Labels");
    spec.labels().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> labels.put(e.getKey(), e.getValue()));
    labels.put(ADDRESS_LABEL, format(address));
    String network = Objects.requireNonNull(spec.network(), "network");
    ObjectNode hostConfig = request.putObject("HostConfig");
    hostConfig.put("AutoRemove", spec.removeOnExit()).put("NetworkMode", network);
    ArrayNode mounts = hostConfig.putArray("Mounts");
    for (ContainerRunSpec.Mount mount : spec.mounts()) {
      mounts
          .addObject()
          .put("Type", "bind")
          .put("Source", mount.source().toString())
          .put("Target", mount.target())
          .put("ReadOnly", mount.readOnly());
    }
    ArrayNode dns = hostConfig.putArray("Dns");
    spec.dns().forEach(server -> dns.add(format(server)));
    ObjectNode pinned =
        request
            .putObject("NetworkingConfig")
            .putObject("EndpointsConfig")
            .putObject(network)
            .putObject("IPAMConfig")
            .put("IPv4Address", format(address));
    if (ipv6 != null) {
      pinned.put("IPv6Address", format(ipv6));
    }
    return request;
  }

  /** Picks the lowest free address and marks it as being created. */
  private InetAddress reserve(Managed network) throws ContainerCliException, InterruptedException {
    String filter = "{\"label\":[\"" + ADDRESS_LABEL + "\"]}";
    EngineHttp.Response listing =
        expect(
            http.send("GET", "/containers/json?all=true&filters=" + encode(filter), null),
            "list containers");
    Set<InetAddress> used = new HashSet<>();
    for (String label : json.labelValues(listing.text(), ADDRESS_LABEL)) {
      try {
        used.add(IpAddresses.parse(label.strip()));
      } catch (IllegalArgumentException e) {
        throw new ContainerCliException(
            "a container's label " + ADDRESS_LABEL + " is not an address: '" + label + "'", e);
      }
    }
    synchronized (this) {
      used.addAll(creating);
      BigInteger size = BigInteger.ONE.shiftLeft(32 - network.subnet().prefixLength());
      // .0 is the network, .1 the gateway, the last the broadcast address.
      for (long n = 2; n < size.longValueExact() - 1; n++) {
        InetAddress candidate = host(network.subnet(), n);
        if (!used.contains(candidate)) {
          creating.add(candidate);
          return candidate;
        }
      }
    }
    throw new ContainerCliException(
        "no free address left in " + network.subnet() + " (" + used.size() + " in use)");
  }

  @Override
  public boolean startsOnCreate() {
    return false;
  }

  /** Starts the created container; one already running counts as started. */
  @Override
  public void start(String id) throws ContainerCliException, InterruptedException {
    EngineHttp.Response started = http.send("POST", "/containers/" + encode(id) + "/start", null);
    if (started.status() != 304) {
      expect(started, "start " + id);
    }
  }

  /**
   * The container as the daemon reports it. The gateway of a created container that has not started
   * is the managed network's.
   */
  @Override
  public Optional<ContainerInfo> inspect(String id)
      throws ContainerCliException, InterruptedException {
    EngineHttp.Response response = http.send("GET", "/containers/" + encode(id) + "/json", null);
    if (response.status() == 404) {
      return Optional.empty();
    }
    ContainerInfo info = json.container(expect(response, "inspect " + id).text());
    return info.id().equals(id) ? Optional.of(withManagedGateway(info)) : Optional.empty();
  }

  private ContainerInfo withManagedGateway(ContainerInfo info) {
    Managed network = managed;
    if (network == null) {
      return info;
    }
    List<NetworkAttachment> attachments = new ArrayList<>();
    for (NetworkAttachment attachment : info.networks()) {
      attachments.add(
          attachment.network().equals(network.name()) && attachment.ipv4Gateway() == null
              ? new NetworkAttachment(
                  attachment.network(),
                  attachment.ipv4(),
                  host(network.subnet(), 1),
                  attachment.ipv6())
              : attachment);
    }
    return new ContainerInfo(info.id(), info.state(), info.labels(), attachments);
  }

  /** Lists the running containers, then inspects each; one gone meanwhile is left out. */
  @Override
  public List<ContainerInfo> listRunning() throws ContainerCliException, InterruptedException {
    EngineHttp.Response listing =
        expect(http.send("GET", "/containers/json", null), "list containers");
    List<ContainerInfo> running = new ArrayList<>();
    for (String id : json.ids(listing.text())) {
      EngineHttp.Response response = http.send("GET", "/containers/" + encode(id) + "/json", null);
      if (response.status() == 404) {
        continue;
      }
      ContainerInfo info = json.container(expect(response, "inspect " + id).text());
      if (info.isRunning()) {
        running.add(info);
      }
    }
    return running;
  }

  /**
   * Stops the container (10 s, then killed), then removes it: it no longer runs and its address is
   * free. A container that is already gone (or being removed by its auto-removal) counts as stopped
   * once inspect confirms that it does not run.
   */
  @Override
  public void stop(String id) throws ContainerCliException, InterruptedException {
    EngineHttp.Response stop = http.send("POST", "/containers/" + encode(id) + "/stop?t=10", null);
    if (!stop.ok() && stop.status() != 304 && stop.status() != 404) {
      throw failure(stop, "stop " + id);
    }
    EngineHttp.Response remove =
        http.send("DELETE", "/containers/" + encode(id) + "?force=true", null);
    // 409: a removal is already in progress (auto-removal after the stop).
    if (remove.ok() || remove.status() == 404 || remove.status() == 409) {
      return;
    }
    if (inspect(id).map(c -> !c.isRunning()).orElse(true)) {
      return;
    }
    throw failure(remove, "remove " + id);
  }

  /**
   * Runs {@code command} in the container as {@code docker exec} does, and returns its exit code
   * and output (each stream kept up to 1 MiB, the rest counted).
   */
  @Override
  public ProcessResult exec(String id, List<String> command)
      throws ContainerCliException, InterruptedException {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("exec needs a command");
    }
    ObjectNode request =
        mapper.createObjectNode().put("AttachStdout", true).put("AttachStderr", true);
    ArrayNode cmd = request.putArray("Cmd");
    command.forEach(cmd::add);
    EngineHttp.Response created =
        http.send("POST", "/containers/" + encode(id) + "/exec", request.toString());
    if (created.status() == 404 || created.status() == 409) {
      // No such container, or it does not run: the command fails, as with `docker exec`.
      return new ProcessResult(1, "", "docker exec in " + id + ": " + json.message(created.text()));
    }
    String execId = json.id(expect(created, "exec in " + id).text());
    EngineHttp.Response stream =
        expect(
            http.send("POST", "/exec/" + execId + "/start", "{\"Detach\":false,\"Tty\":false}"),
            "start exec in " + id);
    ExecOutput output = ExecOutput.demultiplex(stream.body());
    // The stream ends when the process does; the daemon may record its exit code a moment later.
    OptionalInt exitCode = OptionalInt.empty();
    for (int poll = 0; exitCode.isEmpty(); poll++) {
      if (poll == EXIT_CODE_POLLS) {
        throw new ContainerCliException(
            "exec in " + id + ": its output ended, but the daemon still reports it running");
      }
      if (poll > 0) {
        Thread.sleep(10);
      }
      exitCode =
          json.exitCode(
              expect(http.send("GET", "/exec/" + execId + "/json", null), "exec status in " + id)
                  .text());
    }
    return new ProcessResult(
        exitCode.getAsInt(),
        output.stdout.head(),
        output.stderr.head(),
        output.stdout.dropped,
        output.stderr.dropped);
  }

  /** The two streams of a non-TTY exec: frames of an 8-byte header (stream, size) and payload. */
  static final class ExecOutput {
    final Capped stdout = new Capped();
    final Capped stderr = new Capped();

    static ExecOutput demultiplex(byte[] raw) throws ContainerCliException {
      ExecOutput output = new ExecOutput();
      int at = 0;
      while (at < raw.length) {
        if (at + 8 > raw.length) {
          throw new ContainerCliException("exec output ended inside a frame header");
        }
        int size =
            ((raw[at + 4] & 0xff) << 24)
                | ((raw[at + 5] & 0xff) << 16)
                | ((raw[at + 6] & 0xff) << 8)
                | (raw[at + 7] & 0xff);
        // Compared so that it cannot overflow: a size near Integer.MAX_VALUE is only too long.
        if (size < 0 || size > raw.length - at - 8) {
          throw new ContainerCliException("exec output ended inside a frame");
        }
        (raw[at] == 2 ? output.stderr : output.stdout).write(raw, at + 8, size);
        at += 8 + size;
      }
      return output;
    }
  }

  /** A stream's head up to the exec output limit, and how many bytes came after it. */
  static final class Capped {
    private final ByteArrayOutputStream head = new ByteArrayOutputStream();
    long dropped;

    void write(byte[] bytes, int offset, int length) {
      int kept = Math.max(0, Math.min(length, EXEC_OUTPUT_LIMIT - head.size()));
      head.write(bytes, offset, kept);
      dropped += length - kept;
    }

    String head() {
      return head.toString(StandardCharsets.UTF_8);
    }
  }

  private EngineHttp.Response expect(EngineHttp.Response response, String what)
      throws ContainerCliException {
    if (!response.ok()) {
      throw failure(response, what);
    }
    return response;
  }

  private ContainerCliException failure(EngineHttp.Response response, String what) {
    return new ContainerCliException(
        "docker "
            + what
            + ": the daemon answered "
            + response.status()
            + " "
            + json.message(response.text()));
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** The {@code n}th address of {@code network}. */
  static InetAddress host(IpNetwork network, long n) {
    byte[] base = network.address().getAddress();
    BigInteger value = new BigInteger(1, base).add(BigInteger.valueOf(n));
    byte[] raw = value.toByteArray();
    byte[] bytes = new byte[base.length];
    int copy = Math.min(raw.length, bytes.length);
    System.arraycopy(raw, raw.length - copy, bytes, bytes.length - copy, copy);
    return IpAddresses.fromBytes(bytes);
  }

  /** Which address of {@code network} {@code address} is. */
  static long hostNumber(IpNetwork network, InetAddress address) {
    return new BigInteger(1, address.getAddress())
        .subtract(new BigInteger(1, network.address().getAddress()))
        .longValueExact();
  }

  private static String format(InetAddress address) {
    return IpAddresses.format(address);
  }
}
