package dev.egress.container;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.math.BigInteger;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Docker, driven through its command line ({@code docker}, not the HTTP API) and a {@link
 * ProcessRunner}: a {@link ContainerRuntime} that creates containers stopped, on a managed
 * user-defined network, at an address it chooses, so that the policy is attached before the
 * container sends its first packet.
 *
 * <p><b>The managed network</b> ({@link #ensureNetwork}) is a bridge network whose Linux bridge has
 * a fixed name ({@code -o com.docker.network.bridge.name=BRIDGE}), so that the enforcer's guard can
 * name it; its gateway is the subnet's first address. An existing network of that name is used only
 * if it has the same subnets and bridge: otherwise containers could get addresses the guard does
 * not cover.
 *
 * <p><b>Addresses</b>: {@link #create} gives each container the lowest host address of the subnet
 * that no container of this network uses (IPv6: the same host number in the IPv6 prefix), and
 * records it in the label {@value #ADDRESS_LABEL}. Addresses in use are those of every container,
 * running or not, that carries the label ({@code docker ps -a}), plus those of creates in flight in
 * this process: a launcher that crashed leaves its containers' addresses taken until they are
 * removed, and a new launcher reads them back. An address becomes free once its container is
 * removed ({@link #stop} removes it).
 *
 * <p>Thread-safe; every call blocks for at most the command timeout; none retries.
 */
public final class DockerCli implements ContainerRuntime {
  /** The label holding the address a container was created with. */
  public static final String ADDRESS_LABEL = "dev.egress.address";

  private static final String BRIDGE_OPTION = "com.docker.network.bridge.name";
  private static final Pattern BRIDGE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

  private final CliCalls cli;
  private final String bridge;
  private final DockerJson json = new DockerJson();
  private final Set<InetAddress> creating = new HashSet<>(); // guarded by this
  private volatile @Nullable Managed managed;

  /** The managed network once {@link #ensureNetwork} found or made it. */
  private record Managed(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet) {}

  /**
   * @param runner runs the commands
   * @param executable the CLI, {@code docker} to look it up on the {@code PATH}
   * @param timeout how long one call may take before it is killed and reported as failed
   * @param bridge the Linux bridge name the managed network gets (1-15 of letters, digits, {@code _
   *     . -}): the name to give the enforcer's guard
   */
  public DockerCli(ProcessRunner runner, String executable, Duration timeout, String bridge) {
    this.cli =
        new CliCalls(runner, executable, timeout, "(is Docker installed and its daemon running?)");
    if (!BRIDGE.matcher(bridge).matches()) {
      throw new IllegalArgumentException(
          "'" + bridge + "' is not a bridge name: 1-15 letters, digits, '_', '.' or '-'");
    }
    this.bridge = bridge;
  }

  /** The {@code docker} on the {@code PATH}, with a 60 s timeout per call. */
  public static DockerCli onPath(String bridge) {
    return new DockerCli(new SystemProcessRunner(), "docker", Duration.ofSeconds(60), bridge);
  }

  @Override
  public String command() {
    return cli.executable();
  }

  /** The Linux bridge of the managed network. */
  public String bridge() {
    return bridge;
  }

  /**
   * {@code docker network inspect NAME}, and {@code docker network create} when it is missing.
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
    CliCalls.Call inspect = cli.exec(List.of("network", "inspect", name));
    if (inspect.result().succeeded()) {
      Optional<DockerJson.Network> existing = json.network(inspect.result().stdout());
      if (existing.isEmpty()
          || !new HashSet<>(existing.get().subnets()).equals(new HashSet<>(subnets))
          || !bridge.equals(existing.get().bridge())) {
        throw new ContainerCliException(
            "docker network "
                + name
                + " exists with subnets "
                + existing.map(DockerJson.Network::subnets).orElse(List.of())
                + " and bridge "
                + existing.map(DockerJson.Network::bridge).orElse(null)
                + ", not "
                + subnets
                + " and "
                + bridge
                + ": remove it ('docker network rm "
                + name
                + "') or configure the launcher as it is");
      }
    } else if (mentionsGone(inspect.result())) {
      List<String> args = new ArrayList<>(List.of("network", "create", "--driver", "bridge"));
      args.addAll(List.of("--subnet", subnet.toString(), "--gateway", format(host(subnet, 1))));
      if (ipv6Subnet != null) {
        args.addAll(
            List.of(
                "--ipv6",
                "--subnet",
                ipv6Subnet.toString(),
                "--gateway",
                format(host(ipv6Subnet, 1))));
      }
      args.addAll(List.of("-o", BRIDGE_OPTION + "=" + bridge, name));
      cli.call(args);
    } else {
      throw new ContainerCliException(inspect.describe());
    }
    managed = new Managed(name, subnet, ipv6Subnet);
  }

  /**
   * {@code docker create --network NETWORK --ip ADDRESS [--ip6 ADDRESS] --dns ...}: the container
   * is created stopped at the next free address of the managed network.
   *
   * @throws IllegalStateException if {@link #ensureNetwork} has not run, or {@code spec} names
   *     another network
   * @throws ContainerCliException if docker failed, or no address is free
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
      cli.call(createArguments(spec, address, ipv6));
    } finally {
      synchronized (this) {
        creating.remove(address);
      }
    }
  }

  /** The arguments of {@code docker create} for {@code spec} at these addresses. */
  static List<String> createArguments(
      ContainerRunSpec spec, InetAddress address, @Nullable InetAddress ipv6) {
    List<String> args = new ArrayList<>(List.of("create"));
    if (spec.removeOnExit()) {
      args.add("--rm");
    }
    args.addAll(List.of("--name", spec.name()));
    spec.labels().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> args.addAll(List.of("--label", e.getKey() + "=" + e.getValue())));
    args.addAll(List.of("--label", ADDRESS_LABEL + "=" + format(address)));
    for (ContainerRunSpec.Mount mount : spec.mounts()) {
      args.addAll(List.of("--mount", mount.argument()));
    }
    spec.env().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> args.addAll(List.of("--env", e.getKey() + "=" + e.getValue())));
    args.addAll(List.of("--network", Objects.requireNonNull(spec.network(), "network")));
    args.addAll(List.of("--ip", format(address)));
    if (ipv6 != null) {
      args.addAll(List.of("--ip6", format(ipv6)));
    }
    for (InetAddress server : spec.dns()) {
      args.addAll(List.of("--dns", format(server)));
    }
    args.add(spec.image());
    args.addAll(spec.command());
    return args;
  }

  /** Picks the lowest free address and marks it as being created. */
  private InetAddress reserve(Managed network) throws ContainerCliException, InterruptedException {
    Set<InetAddress> used = new HashSet<>();
    String out =
        cli.call(
            List.of(
                "ps",
                "--all",
                "--filter",
                "label=" + ADDRESS_LABEL,
                "--format",
                "{{.Label \"" + ADDRESS_LABEL + "\"}}"));
    for (String line : out.split("\n")) {
      if (!line.isBlank()) {
        try {
          used.add(IpAddresses.parse(line.strip()));
        } catch (IllegalArgumentException e) {
          throw new ContainerCliException(
              "a container's label " + ADDRESS_LABEL + " is not an address: '" + line + "'", e);
        }
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

  /** {@code docker start ID}. */
  @Override
  public void start(String id) throws ContainerCliException, InterruptedException {
    cli.call(List.of("start", id));
  }

  /**
   * {@code docker inspect --type container ID}. The gateway of a created container that has not
   * started is the managed network's.
   */
  @Override
  public Optional<ContainerInfo> inspect(String id)
      throws ContainerCliException, InterruptedException {
    CliCalls.Call call = cli.exec(List.of("inspect", "--type", "container", id));
    if (!call.result().succeeded()) {
      if (mentionsGone(call.result())) {
        return Optional.empty();
      }
      throw new ContainerCliException(call.describe());
    }
    return json.containers(call.result().stdout()).stream()
        .filter(c -> c.id().equals(id))
        .map(this::withManagedGateway)
        .findFirst();
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

  /** {@code docker ps --quiet --no-trunc}, then one {@code docker inspect} of them all. */
  @Override
  public List<ContainerInfo> listRunning() throws ContainerCliException, InterruptedException {
    List<String> ids = new ArrayList<>();
    for (String line : cli.call(List.of("ps", "--quiet", "--no-trunc")).split("\n")) {
      if (!line.isBlank()) {
        ids.add(line.strip());
      }
    }
    if (ids.isEmpty()) {
      return List.of();
    }
    List<String> args = new ArrayList<>(List.of("inspect", "--type", "container"));
    args.addAll(ids);
    CliCalls.Call call = cli.exec(args);
    // A container removed between the two calls is reported as missing; the others are printed.
    if (!call.result().succeeded() && !mentionsGone(call.result())) {
      throw new ContainerCliException(call.describe());
    }
    return json.containers(call.result().stdout()).stream()
        .filter(ContainerInfo::isRunning)
        .toList();
  }

  /**
   * {@code docker stop ID}, then {@code docker rm --force ID}: the container no longer runs and its
   * address is free. A container that is already gone (or being removed by {@code --rm}) counts as
   * stopped once inspect confirms that it does not run.
   */
  @Override
  public void stop(String id) throws ContainerCliException, InterruptedException {
    CliCalls.Call stop = cli.exec(List.of("stop", "--time", "10", id));
    if (!stop.result().succeeded() && !mentionsGone(stop.result())) {
      throw new ContainerCliException(stop.describe());
    }
    CliCalls.Call remove = cli.exec(List.of("rm", "--force", id));
    if (remove.result().succeeded() || mentionsGone(remove.result())) {
      return;
    }
    if (inspect(id).map(c -> !c.isRunning()).orElse(true)) {
      return;
    }
    throw new ContainerCliException(remove.describe());
  }

  /** {@code docker exec ID COMMAND...}. */
  @Override
  public ProcessResult exec(String id, List<String> command)
      throws ContainerCliException, InterruptedException {
    return cli.execIn(id, command);
  }

  private static boolean mentionsGone(ProcessResult result) {
    String text = (result.stderr() + result.stdout()).toLowerCase(Locale.ROOT);
    return text.contains("no such")
        || text.contains("not found")
        || text.contains("is already in progress");
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
