package dev.egress.policy;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A policy text that does not parse. Holds every problem found, each with its position, and prints
 * as {@code SOURCE:LINE:COLUMN: message} lines, the form editors and compilers use.
 */
public final class PolicySyntaxException extends Exception {
  private static final long serialVersionUID = 1L;

  /**
   * One problem in a policy text.
   *
   * @param source the file name or another label for the text, as {@link UserText#line} shows it
   * @param line 1-based line number
   * @param column 1-based column of the offending token
   * @param message what was found and what was expected, as {@link UserText#line} shows it
   */
  public record Problem(String source, int line, int column, String message) {
    /** Whoever made it, a problem prints as one line that is safe to show. */
    public Problem {
      source = UserText.line(source);
      message = UserText.line(message);
    }

    @Override
    public String toString() {
      return source + ":" + line + ":" + column + ": " + message;
    }
  }

  private final List<Problem> problems;

  PolicySyntaxException(List<Problem> problems) {
    super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
    this.problems = List.copyOf(problems);
  }

  /** Every problem found, in text order; never empty. */
  public List<Problem> problems() {
    return problems;
  }
}
