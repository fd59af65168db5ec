package dev.egress.daemon;

import dev.egress.policy.PolicySyntaxException.Problem;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A configuration file that does not hold a valid configuration. Holds every problem found, each
 * with its position, and prints as {@code FILE:LINE:COLUMN: message} lines, as policy files'
 * problems do (it uses their {@link Problem} record, which escapes what it quotes).
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  private final List<Problem> problems;

  ConfigException(List<Problem> problems) {
    super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a configuration error needs a problem");
    }
    this.problems = List.copyOf(problems);
  }

  /** Every problem found, in file order; never empty. */
  public List<Problem> problems() {
    return problems;
  }
}
