package dev.egress.pf.pfctl;

import dev.egress.policy.UserText;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of an address table in a container's anchor, as the renderer makes them ({@code dns},
 * {@code tcp_443}, {@code udp_5000_5100}): a lower-case letter, then up to 30 of {@code a-z 0-9 _}.
 * pf stores table names in {@code PF_TABLE_NAME_SIZE} (32) bytes with the terminating NUL. The only
 * copy of that rule: {@link Pfctl} takes only names of this type, the read-back finds table
 * references with it, and the pfctl wrapper script matches them with {@link #PATTERN}.
 *
 * @param value the name
 */
public record TableName(String value) {
  /** The names, in the common subset of Java and POSIX extended regular expressions. */
  public static final String PATTERN = "[a-z][a-z0-9_]{0,30}";

  private static final Pattern SHAPE = Pattern.compile(PATTERN);

  /**
   * @throws IllegalArgumentException if the name is not one the renderer would make
   */
  public TableName {
    Objects.requireNonNull(value, "value");
    if (!SHAPE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          UserText.quote(value)
              + " is not a table name the renderer makes: 1-31 characters of a-z 0-9 _, starting"
              + " with a letter");
    }
  }

  @Override
  public String toString() {
    return value;
  }
}
