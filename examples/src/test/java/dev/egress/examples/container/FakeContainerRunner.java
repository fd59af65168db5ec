package dev.egress.examples.container;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Runs the fake {@code container} in this JVM: the same fake as the PATH executable, without a JVM
 * start per call, for tests that make thousands of calls.
 */
public final class FakeContainerRunner implements ProcessRunner {
  private final Path stateDir;

  public FakeContainerRunner(Path stateDir) {
    this.stateDir = stateDir;
  }

  @Override
  public ProcessResult run(List<String> command, Duration timeout) {
    if (!command.get(0).equals("container")) {
      throw new IllegalArgumentException("the fake only runs 'container', got " + command);
    }
    StringBuilder out = new StringBuilder();
    StringBuilder err = new StringBuilder();
    int status = FakeContainer.run(stateDir, command.subList(1, command.size()), out, err);
    return new ProcessResult(command, status, out.toString(), err.toString());
  }
}
