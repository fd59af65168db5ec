package dev.egress.container;

import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Apple's {@code container} command line, driven through a {@link ProcessRunner}: a {@link
 * ContainerRuntime} whose {@link #create} starts the container. Each method is one CLI call (a stop
 * that reports "not found" adds an inspect); none retries.
 *
 * <p>Thread-safe; every method blocks for at most the command timeout.
 */
public final class ContainerCli implements ContainerRuntime {
  private final CliCalls cli;
  private final ContainerJson json = new ContainerJson();

  /**
   * @param runner runs the commands
   * @param executable the CLI, {@code container} to look it up on the {@code PATH}
   * @param timeout how long one call may take before it is killed and reported as failed
   */
  public ContainerCli(ProcessRunner runner, String executable, Duration timeout) {
    this.cli =
        new CliCalls(
            runner,
            executable,
            timeout,
            "(is Apple's container CLI installed and 'container system start' done?)");
  }

  /** The {@code container} on the {@code PATH}, with a 60 s timeout per call. */
  public static ContainerCli onPath() {
    return new ContainerCli(new SystemProcessRunner(), "container", Duration.ofSeconds(60));
  }

  @Override
  public String command() {
    return cli.executable();
  }

  /** {@link #runDetached}: Apple's CLI cannot create a container without starting it. */
  @Override
  public void create(ContainerRunSpec spec) throws ContainerCliException, InterruptedException {
    runDetached(spec);
  }

  @Override
  public boolean startsOnCreate() {
    return true;
  }

  /** Does nothing: {@link #create} started the container. */
  @Override
  public void start(String id) {}

  /**
   * {@code container run --detach ...}: starts the container and returns its id (its name). The
   * container's address is usually not known yet; poll {@link #inspect}.
   *
   * @throws ContainerCliException if the CLI failed. A container may nevertheless exist (the CLI
   *     can fail after creating it): callers that must not leave it running stop it by name.
   */
  public String runDetached(ContainerRunSpec spec)
      throws ContainerCliException, InterruptedException {
    cli.call(spec.arguments());
    return spec.name();
  }

  /**
   * {@code container inspect ID}.
   *
   * @return the container, or empty if the CLI reports no such container
   * @throws ContainerCliException if the CLI failed otherwise or printed unreadable JSON
   */
  @Override
  public Optional<ContainerInfo> inspect(String id)
      throws ContainerCliException, InterruptedException {
    CliCalls.Call call = cli.exec(List.of("inspect", id));
    if (!call.result().succeeded()) {
      if (mentionsNotFound(call.result())) {
        return Optional.empty();
      }
      throw new ContainerCliException(call.describe());
    }
    return json.parse(call.result().stdout()).stream().filter(c -> c.id().equals(id)).findFirst();
  }

  /**
   * {@code container ls --format json}: the running containers.
   *
   * @throws ContainerCliException if the CLI failed or printed unreadable JSON
   */
  @Override
  public List<ContainerInfo> listRunning() throws ContainerCliException, InterruptedException {
    String out = cli.call(List.of("ls", "--format", "json"));
    return out.isBlank() ? List.of() : json.parse(out);
  }

  /**
   * {@code container stop ID}. Stopping a container that no longer exists succeeds: the goal, a
   * container that does not run, is reached. A failure that merely mentions "not found" is believed
   * only once {@code container inspect} confirms that the container does not run.
   *
   * @throws ContainerCliException if the CLI failed; the container may still be running
   */
  @Override
  public void stop(String id) throws ContainerCliException, InterruptedException {
    CliCalls.Call call = cli.exec(List.of("stop", id));
    if (call.result().succeeded()
        || (mentionsNotFound(call.result()) && inspect(id).map(c -> !c.isRunning()).orElse(true))) {
      return;
    }
    throw new ContainerCliException(call.describe());
  }

  /**
   * {@code container exec ID COMMAND...}: runs a command in the container and returns how it ended,
   * whatever its exit status.
   *
   * @throws ContainerCliException if the CLI could not be run at all
   */
  @Override
  public ProcessResult exec(String id, List<String> command)
      throws ContainerCliException, InterruptedException {
    return cli.execIn(id, command);
  }

  /**
   * Makes sure the network {@code name} exists, creating it with {@code container network create
   * NAME --subnet CIDR [--subnet-v6 PREFIX]} (macOS 26 and later) when {@code container network
   * inspect NAME} does not find it. An existing network is kept as it is, whatever its subnets (the
   * launcher then refuses containers whose addresses fall outside the expected ones).
   *
   * @throws ContainerCliException if the network could not be created, for instance on macOS 15,
   *     whose CLI has no network commands
   */
  @Override
  public void ensureNetwork(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet)
      throws ContainerCliException, InterruptedException {
    if (cli.exec(List.of("network", "inspect", name)).result().succeeded()) {
      return;
    }
    List<String> args =
        new ArrayList<>(List.of("network", "create", name, "--subnet", subnet.toString()));
    if (ipv6Subnet != null) {
      args.addAll(List.of("--subnet-v6", ipv6Subnet.toString()));
    }
    cli.call(args);
  }

  /**
   * {@code argv} with the values of {@code --env}/{@code -e} arguments replaced by "…", for
   * messages and logs: they may hold secrets.
   */
  static List<String> redacted(List<String> argv) {
    List<String> shown = new ArrayList<>(argv);
    for (int i = 1; i < shown.size(); i++) {
      String previous = shown.get(i - 1);
      if (previous.equals("--env") || previous.equals("-e")) {
        String pair = shown.get(i);
        int equals = pair.indexOf('=');
        shown.set(i, (equals < 0 ? pair : pair.substring(0, equals)) + "=…");
      }
    }
    return shown;
  }

  private static boolean mentionsNotFound(ProcessResult result) {
    String text = (result.stderr() + result.stdout()).toLowerCase(java.util.Locale.ROOT);
    return text.contains("not found") || text.contains("notfound") || text.contains("no such");
  }
}
