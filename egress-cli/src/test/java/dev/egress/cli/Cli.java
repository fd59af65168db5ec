package dev.egress.cli;

import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

/** Runs egressctl in-process with captured output. */
final class Cli {
  record Result(int exit, String out, String err) {}

  private final Map<String, String> environment = new HashMap<>();
  private boolean terminal;
  private String osName = "Mac OS X";
  private ProcessRunner processes =
      command -> {
        throw new IOException("this test runs no process, but egressctl ran " + command);
      };
  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();

  Cli terminal(boolean isTerminal) {
    this.terminal = isTerminal;
    return this;
  }

  Cli env(String name, String value) {
    environment.put(name, value);
    return this;
  }

  Cli os(String name) {
    this.osName = name;
    return this;
  }

  Cli processes(ProcessRunner runner) {
    this.processes = runner;
    return this;
  }

  /** A host whose output this runner captures. */
  CliHost host() {
    return new CliHost(
        new PrintWriter(out, true),
        new PrintWriter(err, true),
        environment,
        terminal,
        osName,
        processes);
  }

  Result run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    int exit = Egressctl.run(host(), args);
    return new Result(exit, out.toString(), err.toString());
  }
}
