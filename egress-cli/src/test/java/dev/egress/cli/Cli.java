package dev.egress.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

/** Runs egressctl in-process with captured output. */
final class Cli {
  record Result(int exit, String out, String err) {}

  private final Map<String, String> environment = new HashMap<>();
  private boolean terminal;

  Cli terminal(boolean isTerminal) {
    this.terminal = isTerminal;
    return this;
  }

  Cli env(String name, String value) {
    environment.put(name, value);
    return this;
  }

  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();

  /** A host whose output this runner captures. */
  CliHost host() {
    return new CliHost(new PrintWriter(out, true), new PrintWriter(err, true), environment, terminal);
  }

  Result run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    int exit = Egressctl.run(host(), args);
    return new Result(exit, out.toString(), err.toString());
  }
}
