package dev.egress.pf.pfctl;

import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.policy.UserText;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of one container's anchor below the parent anchor: one {@link AnchorPath} component, and
 * the pf backend's {@link RuleSetName}. The only copy of how such names are made from container ids
 * ({@link #forContainer}) and of what a valid one looks like.
 *
 * @param value the name: a letter or digit, then letters, digits, {@code _ . -}; at most {@link
 *     AnchorPath#MAX_LENGTH} characters (whether it fits below a given parent is {@link
 *     AnchorPath#child}'s business)
 */
public record AnchorName(String value) implements RuleSetName {
  /**
   * The shortest room {@link #forContainer} needs: one readable character, {@code .} and 12 hex
   * digits of the id's hash.
   */
  public static final int MIN_GENERATED_LENGTH = 14;

  private static final int HASH_HEX_DIGITS = 12;

  /** Ids that stand as their own name when short enough: no {@code .}, so never a hashed name. */
  private static final Pattern KEPT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]*");

  private static final Pattern SHAPE = Pattern.compile(AnchorPath.COMPONENT);

  /**
   * @throws IllegalArgumentException if {@code value} is not a valid anchor name
   */
  public AnchorName {
    Objects.requireNonNull(value, "value");
    if (!isName(value)) {
      throw new IllegalArgumentException(
          UserText.quote(value)
              + " is not a safe pf anchor name: use 1-"
              + AnchorPath.MAX_LENGTH
              + " characters of A-Z a-z 0-9 _ . - starting with a letter or digit");
    }
  }

  /**
   * The anchor name of container {@code id} in at most {@code maxLength} characters: the id itself
   * when it is {@code A-Z a-z 0-9 _ -} starting with a letter or digit and fits; otherwise as much
   * of the id as fits with every other character replaced by {@code -} (and a first character that
   * is not a letter or digit by {@code x}), then {@code .} and 12 hex digits of the id's SHA-256.
   * Readable where possible; a kept name never holds a {@code .} and a hashed one always does, so
   * distinct ids give distinct names (up to a 48-bit hash collision between two hashed ones).
   * Deterministic: the same id and room give the same name.
   *
   * @throws IllegalArgumentException if {@code maxLength} is below {@link #MIN_GENERATED_LENGTH}
   */
  public static AnchorName forContainer(ContainerId id, int maxLength) {
    if (maxLength < MIN_GENERATED_LENGTH) {
      throw new IllegalArgumentException(
          "an anchor name made from a container id needs "
              + MIN_GENERATED_LENGTH
              + " characters, only "
              + maxLength
              + " are left");
    }
    String text = id.value();
    if (text.length() <= maxLength && KEPT.matcher(text).matches()) {
      return new AnchorName(text);
    }
    StringBuilder name = new StringBuilder();
    int keep = maxLength - 1 - HASH_HEX_DIGITS;
    for (int i = 0; i < text.length() && name.length() < keep; i++) {
      char c = text.charAt(i);
      boolean letterOrDigit =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (i == 0) {
        name.append(letterOrDigit ? c : 'x');
      } else {
        name.append(letterOrDigit || c == '-' || c == '_' ? c : '-');
      }
    }
    return new AnchorName(name.append('.').append(id.sha256Hex(), 0, HASH_HEX_DIGITS).toString());
  }

  /**
   * {@code name}, which the pf backend made.
   *
   * @throws IllegalArgumentException if another backend made it
   */
  public static AnchorName of(RuleSetName name) {
    if (name instanceof AnchorName anchor) {
      return anchor;
    }
    throw new IllegalArgumentException(
        "rule set " + name + " is not a pf anchor: another backend named it");
  }

  /**
   * A regular expression for the names of at most {@code maxLength} characters, in the common
   * subset of Java and POSIX extended regular expressions.
   */
  static String pattern(int maxLength) {
    return "[A-Za-z0-9][A-Za-z0-9_.-]{0," + (maxLength - 1) + "}";
  }

  static boolean isName(String text) {
    return text.length() <= AnchorPath.MAX_LENGTH && SHAPE.matcher(text).matches();
  }

  @Override
  public String toString() {
    return value;
  }
}
