package dev.egress.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code -q} and {@code -v}, shared by every command. */
final class OutputOptions {
  @Spec(Spec.Target.MIXEE)
  private CommandSpec command = CommandSpec.create();

  @Option(
      names = {"-q", "--quiet"},
      description = "Print only results and errors.")
  private boolean quiet;

  @Option(
      names = {"-v", "--verbose"},
      description = "Print details, and stack traces of internal errors.")
  private boolean verbose;

  /**
   * The output for this invocation.
   *
   * @throws ParameterException (exit status 2) when both -q and -v are given
   */
  Output open(CliHost host) {
    if (quiet && verbose) {
      throw new ParameterException(command.commandLine(), "-q and -v exclude each other: pick one");
    }
    Output.Verbosity verbosity =
        verbose
            ? Output.Verbosity.VERBOSE
            : quiet ? Output.Verbosity.QUIET : Output.Verbosity.NORMAL;
    return new Output(host.out(), host.err(), verbosity, host.colour());
  }
}
