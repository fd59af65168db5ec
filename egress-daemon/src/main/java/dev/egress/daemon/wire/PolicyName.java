package dev.egress.daemon.wire;

import dev.egress.policy.UserText;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of a policy file in the daemon's policy directory: {@code agent} is {@code
 * agent.policy}. 1-64 letters, digits, {@code _} and {@code -}, in parts joined by single dots: no
 * slash, no leading dot, no {@code ..}, so that a name never leaves the directory.
 *
 * @param value the name without {@code .policy}
 */
public record PolicyName(String value) {
  private static final Pattern SHAPE = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");

  /**
   * @throws IllegalArgumentException if the name has another shape
   */
  public PolicyName {
    Objects.requireNonNull(value, "value");
    if (value.length() > 64 || !SHAPE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          UserText.quote(value)
              + " is not a policy name: 1-64 letters, digits, '_' and '-', in parts joined by"
              + " single dots (the file NAME.policy in the policy directory)");
    }
  }

  /** The file name: {@code NAME.policy}. */
  public String fileName() {
    return value + ".policy";
  }

  @Override
  public String toString() {
    return value;
  }
}
