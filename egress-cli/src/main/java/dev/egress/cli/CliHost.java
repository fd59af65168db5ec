package dev.egress.cli;

import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Everything egressctl takes from the machine it runs on. {@link #system()} is the real one; tests
 * pass captured writers and a fake process runner.
 *
 * @param out standard output
 * @param err standard error
 * @param environment the process environment ({@code NO_COLOR}, {@code USER}, {@code
 *     EGRESSCTL_PFCTL})
 * @param terminal whether standard output is an interactive terminal
 * @param osName the operating system's name ({@code os.name}), which picks the default backend
 * @param processes runs pfctl, nft, sudo, ifconfig and the container CLI
 */
public record CliHost(
    PrintWriter out,
    PrintWriter err,
    Map<String, String> environment,
    boolean terminal,
    String osName,
    ProcessRunner processes) {
  public CliHost {
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(err, "err");
    environment = Map.copyOf(environment);
    Objects.requireNonNull(osName, "osName");
    Objects.requireNonNull(processes, "processes");
  }

  /** This process's standard streams, environment and processes. */
  public static CliHost system() {
    Charset charset = Charset.defaultCharset();
    return new CliHost(
        new PrintWriter(System.out, true, charset),
        new PrintWriter(System.err, true, charset),
        System.getenv(),
        System.console() != null,
        System.getProperty("os.name", ""),
        new SystemProcessRunner());
  }

  /** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
  boolean colour() {
    return terminal && environment.getOrDefault("NO_COLOR", "").isEmpty();
  }

  /** pf on macOS, nftables elsewhere. */
  Backend defaultBackend() {
    return osName.toLowerCase(Locale.ROOT).startsWith("mac") ? Backend.PF : Backend.NFT;
  }
}
