package dev.egress.testkit.container;

import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.nio.file.Path;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Runs the fake {@code container} in this JVM: the same fake as the PATH executable, without a JVM
 * start per call, for tests that make thousands of calls.
 */
public final class FakeContainerRunner implements ProcessRunner {
  private final Path stateDir;
  private final FakeContainer.@Nullable ProbeNetwork network;

  /** Probes reach what the script's {@code reachable} lists. */
  public FakeContainerRunner(Path stateDir) {
    this(stateDir, null);
  }

  /** Probes reach what {@code network} (an enforcer's packet decision) lets through. */
  public FakeContainerRunner(Path stateDir, FakeContainer.@Nullable ProbeNetwork network) {
    this.stateDir = stateDir;
    this.network = network;
  }

  @Override
  public ProcessResult run(Command run) {
    List<String> command = run.argv();
    if (!command.get(0).equals("container")) {
      throw new IllegalArgumentException("the fake only runs 'container', got " + command);
    }
    StringBuilder out = new StringBuilder();
    StringBuilder err = new StringBuilder();
    int status = FakeContainer.run(stateDir, command.subList(1, command.size()), out, err, network);
    return new ProcessResult(status, out.toString(), err.toString());
  }
}
