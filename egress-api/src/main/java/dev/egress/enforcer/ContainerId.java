package dev.egress.enforcer;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.UserText;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A container as its launcher names it: the id (or name) that {@link EgressEnforcer#attach} is
 * given and {@link EgressEnforcer#reconcile} is told is still running. 1-200 printable ASCII
 * characters without spaces; enforcers derive rule-set names from it after sanitising ({@link
 * RuleSetName}), never from the raw text.
 *
 * @param value the id as the launcher writes it
 */
public record ContainerId(String value) implements Comparable<ContainerId> {
  private static final int MAX_LENGTH = 200;

  /**
   * @throws IllegalArgumentException if the id is empty, longer than 200 characters, or holds a
   *     character outside printable ASCII (spaces included)
   */
  public ContainerId {
    Objects.requireNonNull(value, "value");
    if (value.isEmpty()
        || value.length() > MAX_LENGTH
        || !value.chars().allMatch(ContainerId::isPrintable)) {
      throw new IllegalArgumentException(
          "container id must be 1-"
              + MAX_LENGTH
              + " printable ASCII characters without spaces, got "
              + UserText.quote(value));
    }
  }

  /**
   * The id {@code value}.
   *
   * @throws IllegalArgumentException as the constructor does
   */
  public static ContainerId of(String value) {
    return new ContainerId(value);
  }

  /**
   * The id of a container known only by its address: the address text ({@code 192.168.64.3}, {@code
   * fd00:64::3}). {@link EgressEnforcer#attach(InetAddress, dev.egress.policy.EgressPolicy)} names
   * the container so; a launcher that attaches that way passes the same ids to {@link
   * EgressEnforcer#reconcile}, so that reconcile keeps the rules of containers still running.
   */
  public static ContainerId forAddress(InetAddress address) {
    return new ContainerId(IpAddresses.format(Objects.requireNonNull(address, "address")));
  }

  /**
   * The SHA-256 of the id's UTF-8 bytes in lower-case hex: backends whose names cannot hold every
   * id take a short suffix of it, so that distinct ids keep distinct names.
   */
  public String sha256Hex() {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(value.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  @Override
  public int compareTo(ContainerId other) {
    return value.compareTo(other.value);
  }

  /** The id itself. */
  @Override
  public String toString() {
    return value;
  }

  private static boolean isPrintable(int c) {
    return c > 0x20 && c < 0x7f;
  }
}
