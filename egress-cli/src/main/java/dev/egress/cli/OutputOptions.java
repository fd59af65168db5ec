package dev.egress.cli;

import picocli.CommandLine.Option;

/** {@code -q} and {@code -v}, shared by every command. */
final class OutputOptions {
  @Option(names = {"-q", "--quiet"}, description = "Print only results and errors.")
  boolean quiet;

  @Option(names = {"-v", "--verbose"}, description = "Print details, and stack traces of internal errors.")
  boolean verbose;

  Output open(CliHost host) {
    Output.Verbosity verbosity =
        verbose ? Output.Verbosity.VERBOSE : quiet ? Output.Verbosity.QUIET : Output.Verbosity.NORMAL;
    return new Output(host.out(), host.err(), verbosity, host.colour());
  }
}
