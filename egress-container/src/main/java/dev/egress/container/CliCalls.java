package dev.egress.container;

import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How a container CLI is called, for {@link ContainerCli}: one process per call through the {@link
 * ProcessRunner}, bounded by the timeout, shown in messages with the values of {@code --env}
 * redacted. Thread-safe.
 */
final class CliCalls {
  private final ProcessRunner runner;
  private final String executable;
  private final Duration timeout;
  private final String notRunnableHint;

  /**
   * @param notRunnableHint appended to the message when the CLI cannot be run at all
   */
  CliCalls(ProcessRunner runner, String executable, Duration timeout, String notRunnableHint) {
    this.runner = Objects.requireNonNull(runner, "runner");
    this.executable = Objects.requireNonNull(executable, "executable");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    this.timeout = timeout;
    this.notRunnableHint = notRunnableHint;
  }

  String executable() {
    return executable;
  }

  /** One CLI call and how it ended. */
  record Call(Command command, ProcessResult result) {
    /** For error messages: the command as shown (secrets redacted), its status and stderr. */
    String describe() {
      return "'" + command.shown() + "' " + result.summary();
    }
  }

  /** Runs the CLI with {@code args}, whatever its exit status. */
  Call exec(List<String> args) throws ContainerCliException, InterruptedException {
    List<String> argv = new ArrayList<>();
    argv.add(executable);
    argv.addAll(args);
    Command command = new Command(argv, "", timeout, String.join(" ", ContainerCli.redacted(argv)));
    try {
      return new Call(command, runner.run(command));
    } catch (IOException e) {
      // The runner's message shows the command as Command.shown, with its secrets redacted.
      throw new ContainerCliException(e.getMessage() + " " + notRunnableHint, e);
    }
  }

  /**
   * {@code CLI exec ID COMMAND...}: how the command ended in the container, whatever its status.
   */
  ProcessResult execIn(String id, List<String> command)
      throws ContainerCliException, InterruptedException {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("exec needs a command");
    }
    List<String> args = new ArrayList<>(List.of("exec", id));
    args.addAll(command);
    return exec(args).result();
  }

  /** Runs the CLI with {@code args} and returns its standard output, unless it failed. */
  String call(List<String> args) throws ContainerCliException, InterruptedException {
    Call call = exec(args);
    if (!call.result().succeeded()) {
      throw new ContainerCliException(call.describe());
    }
    return call.result().stdout();
  }
}
