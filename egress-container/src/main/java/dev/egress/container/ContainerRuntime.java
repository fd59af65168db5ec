package dev.egress.container;

import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessResult;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A container runtime as the launcher drives it: Apple's {@code container} CLI ({@link
 * ContainerCli}) or Docker ({@link DockerEngine}). A launch is {@link #create} → wait until {@link
 * #inspect} reports the addresses → attach the policy → {@link #start}. Docker creates a container
 * with its addresses chosen and starts it only when asked, so it sends nothing before its policy is
 * attached; Apple's CLI cannot create without starting, so {@link #create} starts it and the
 * address appears later.
 *
 * <p>Implementations are thread-safe; every method blocks for at most the command timeout and
 * throws {@link ContainerCliException} when the CLI failed or printed what cannot be read. None
 * retries.
 */
public interface ContainerRuntime {

  /**
   * The CLI's name, for messages that tell the user what to run: {@code container}, {@code docker}.
   */
  String command();

  /**
   * Makes sure the network {@code name} exists, creating it when it does not.
   *
   * @throws ContainerCliException if it could not be created, or exists in a form that the
   *     runtime's guard would not cover
   */
  void ensureNetwork(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet)
      throws ContainerCliException, InterruptedException;

  /**
   * Creates the container named {@code spec.name()}: stopped, with its addresses known, where the
   * runtime can do that ({@link #startsOnCreate()} false); started otherwise.
   *
   * @throws ContainerCliException if the CLI failed. A container may nevertheless exist: callers
   *     that must not leave it behind stop it by name.
   */
  void create(ContainerRunSpec spec) throws ContainerCliException, InterruptedException;

  /** Whether {@link #create} already starts the container (and {@link #start} does nothing). */
  boolean startsOnCreate();

  /**
   * Starts a container that {@link #create} made; does nothing if {@link #startsOnCreate()}.
   *
   * @throws ContainerCliException if it did not start
   */
  void start(String id) throws ContainerCliException, InterruptedException;

  /**
   * The container, or empty if the runtime reports no such container. A created container that has
   * not started reports the addresses it will have.
   */
  Optional<ContainerInfo> inspect(String id) throws ContainerCliException, InterruptedException;

  /** The running containers. */
  List<ContainerInfo> listRunning() throws ContainerCliException, InterruptedException;

  /**
   * Stops the container, and removes it where the runtime keeps stopped containers. Stopping one
   * that no longer exists succeeds.
   *
   * @throws ContainerCliException if it may still be running
   */
  void stop(String id) throws ContainerCliException, InterruptedException;

  /**
   * Runs {@code command} in the container and returns how it ended, whatever its exit status.
   *
   * @throws ContainerCliException if the CLI could not be run at all
   */
  ProcessResult exec(String id, List<String> command)
      throws ContainerCliException, InterruptedException;
}
