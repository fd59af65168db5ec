package dev.egress.cli;

import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.Map;
import java.util.Objects;

/**
 * Everything egressctl takes from the machine it runs on. {@link #system()} is the real one; tests
 * pass captured writers and fakes.
 *
 * @param out standard output
 * @param err standard error
 * @param environment the process environment ({@code NO_COLOR}, {@code PATH})
 * @param terminal whether standard output is an interactive terminal
 */
public record CliHost(
    PrintWriter out, PrintWriter err, Map<String, String> environment, boolean terminal) {
  public CliHost {
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(err, "err");
    environment = Map.copyOf(environment);
  }

  /** This process's standard streams and environment. */
  public static CliHost system() {
    Charset charset = Charset.defaultCharset();
    return new CliHost(
        new PrintWriter(System.out, true, charset),
        new PrintWriter(System.err, true, charset),
        System.getenv(),
        System.console() != null);
  }

  /** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
  boolean colour() {
    return terminal && environment.getOrDefault("NO_COLOR", "").isEmpty();
  }
}
