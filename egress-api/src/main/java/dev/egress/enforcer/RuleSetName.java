package dev.egress.enforcer;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a packet-filter backend calls one container's rules in the kernel: a pf child anchor, an
 * nftables chain. Only a backend makes one, from a {@link ContainerId} or by reading back what the
 * kernel holds; the lifecycle and the operator's tools pass it on and compare it, never derive it.
 * Events and {@link ReconcileResult} carry one for rules found installed that no attachment of the
 * running process owns ({@link Subject.Unowned}).
 *
 * <p>1-63 characters of {@code A-Z a-z 0-9 _ . -}, starting with a letter or digit: what every
 * backend's names fit in (each backend's own rule is narrower).
 *
 * @param value the name as the kernel knows it
 */
public record RuleSetName(String value) implements Comparable<RuleSetName> {
  private static final Pattern SHAPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

  /**
   * @throws IllegalArgumentException if the name has another shape
   */
  public RuleSetName {
    Objects.requireNonNull(value, "value");
    if (!SHAPE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "'"
              + value
                  .chars()
                  .limit(80)
                  .mapToObj(c -> c > 0x20 && c < 0x7f ? Character.toString(c) : "?")
                  .reduce("", String::concat)
              + "' is not a rule-set name: 1-63 of A-Z a-z 0-9 _ . -, starting with a letter or"
              + " digit");
    }
  }

  @Override
  public int compareTo(RuleSetName other) {
    return value.compareTo(other.value);
  }

  /** The name itself. */
  @Override
  public String toString() {
    return value;
  }
}
