package dev.egress.nftables;

import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.plan.Family;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The chain of one container in the enforcer's table, which is the nftables backend's {@link
 * RuleSetName}, and the names of its host sets: the only place that knows how they are made.
 *
 * <p>{@code c_<id, sanitised to [A-Za-z0-9_], at most 20 characters>_<12 hex digits of
 * SHA-256(id)>}: at most 35 characters, and distinct ids give distinct names (up to a 48-bit hash
 * collision). The container's host sets ({@link HostSets}) are {@code <chain>_4} and {@code
 * <chain>_6} for single ports, and {@code <chain>_r4} and {@code <chain>_r6} for ranges of ports
 * (intervals). Sets named {@code <chain>_h<i>_4}, {@code _t<i>_6} and so on are the rule set's too:
 * earlier versions kept one set per host name, and a load of the rule set removes them. Only names
 * of these shapes are the backend's: others in the table are left alone.
 *
 * @param value the chain name
 */
record ChainName(String value) implements RuleSetName {
  private static final int ID_CHARS = 20;
  private static final int HASH_HEX_DIGITS = 12;
  private static final String CHAIN =
      "c_[A-Za-z0-9_]{0," + ID_CHARS + "}_[0-9a-f]{" + HASH_HEX_DIGITS + "}";
  private static final Pattern SHAPE = Pattern.compile(CHAIN);
  private static final Pattern SET_SHAPE = Pattern.compile("(" + CHAIN + ")_(r|[ht][0-9]+_)?[46]");

  /**
   * @throws IllegalArgumentException if {@code value} is not a name {@link #forContainer} makes
   */
  ChainName {
    Objects.requireNonNull(value, "value");
    if (!SHAPE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "'"
              + value
              + "' is not a chain name of the nftables enforcer (c_<id>_<hash>); make one with"
              + " ruleSetName(containerId)");
    }
  }

  /** The chain of container {@code id}. */
  static ChainName forContainer(ContainerId id) {
    StringBuilder safe = new StringBuilder("c_");
    id.value().chars().limit(ID_CHARS).forEach(c -> safe.append(isNameChar(c) ? (char) c : '_'));
    return new ChainName(safe.append('_').append(id.sha256Hex(), 0, HASH_HEX_DIGITS).toString());
  }

  /**
   * {@code name}, which this backend made.
   *
   * @throws IllegalArgumentException if another backend made it
   */
  static ChainName of(RuleSetName name) {
    if (name instanceof ChainName chain) {
      return chain;
    }
    throw new IllegalArgumentException(
        "rule set " + name + " is not a chain of the nftables enforcer: another backend named it");
  }

  /** The chain {@code name} is, or empty when it is none of this backend's (another chain). */
  static Optional<ChainName> parse(String name) {
    return SHAPE.matcher(name).matches() ? Optional.of(new ChainName(name)) : Optional.empty();
  }

  /**
   * The host set of {@code family} for elements of single ports ({@code <chain>_4}, {@code _6}) or,
   * when {@code ranges}, of ranges of ports ({@code <chain>_r4}, {@code _r6}).
   */
  String setName(Family family, boolean ranges) {
    return value + (ranges ? "_r" : "_") + (family == Family.IPV6 ? "6" : "4");
  }

  /**
   * Whether {@code set}, of a chain's shape, is a host set as {@link #setName} makes them, rather
   * than one an earlier version made per host name.
   */
  static boolean isHostSet(String set) {
    Matcher matcher = SET_SHAPE.matcher(set);
    return matcher.matches() && (matcher.group(2) == null || matcher.group(2).equals("r"));
  }

  /** Whether {@code set}, a host set ({@link #isHostSet}), holds ranges of ports. */
  static boolean holdsRanges(String set) {
    Matcher matcher = SET_SHAPE.matcher(set);
    return matcher.matches() && "r".equals(matcher.group(2));
  }

  /** The chain whose set {@code set} is, or empty when it is none of this backend's. */
  static Optional<ChainName> ofSet(String set) {
    Matcher matcher = SET_SHAPE.matcher(set);
    return matcher.matches() ? Optional.of(new ChainName(matcher.group(1))) : Optional.empty();
  }

  @Override
  public String toString() {
    return value;
  }

  private static boolean isNameChar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
}
