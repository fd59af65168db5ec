package dev.egress.process;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One run of an external program: its argument vector (never interpreted by a shell), the whole of
 * its standard input, how long it may take, and how messages show it.
 *
 * @param argv the program and its arguments; not empty
 * @param stdin everything to write to its standard input (UTF-8), possibly empty; the input is
 *     closed after it
 * @param timeout how long the run may take from start to end, writing the input and reading the
 *     output included; positive
 * @param shown the command as exceptions and logs show it. By default the arguments, quoted where a
 *     shell would need quotes; a caller whose arguments carry secrets passes a redacted form
 */
public record Command(List<String> argv, String stdin, Duration timeout, String shown) {
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

  public Command {
    Objects.requireNonNull(shown, "shown");
    argv = List.copyOf(argv);
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("a command needs at least the program");
    }
    Objects.requireNonNull(stdin, "stdin");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException(
          "the timeout of '" + shown + "' must be positive, got " + timeout);
    }
  }

  /** A command shown as its arguments. */
  public Command(List<String> argv, String stdin, Duration timeout) {
    this(argv, stdin, timeout, quoted(argv));
  }

  /** A command with no standard input. */
  public Command(List<String> argv, Duration timeout) {
    this(argv, "", timeout);
  }

  /** The program: the first element of {@link #argv}. */
  public String program() {
    return argv.get(0);
  }

  /** {@link #shown}: never the standard input, which may be large. */
  @Override
  public String toString() {
    return shown;
  }

  private static String quoted(List<String> argv) {
    return argv.stream()
        .map(arg -> PLAIN.matcher(arg).matches() ? arg : "'" + arg.replace("'", "'\\''") + "'")
        .collect(Collectors.joining(" "));
  }
}
