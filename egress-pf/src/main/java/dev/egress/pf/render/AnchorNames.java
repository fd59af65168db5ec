package dev.egress.pf.render;

import dev.egress.policy.UserText;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Names pf accepts and that no user text can bend: anchor path components and table names.
 *
 * <p>pf stores an anchor component in {@code PF_ANCHOR_NAME_SIZE} (64) bytes and a table name in
 * {@code PF_TABLE_NAME_SIZE} (32) bytes, both NUL-terminated, so at most 63 and 31 characters.
 * pfctl refuses to modify anchors whose name starts with {@code _} (reserved for pf itself).
 *
 * <p>Stateless and thread-safe.
 */
public final class AnchorNames {
  /** The longest anchor path component pf stores. */
  public static final int MAX_COMPONENT_LENGTH = 63;

  /** The longest table name pf stores. */
  public static final int MAX_TABLE_NAME_LENGTH = 31;

  private static final int HASH_HEX_DIGITS = 12;

  /**
   * Ids kept unchanged as their anchor name. The first character is a letter or digit: the
   * least-privilege pfctl wrapper ({@code egressctl sudoers}) accepts only such child names.
   */
  private static final Pattern KEPT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");

  /** Any valid component: kept ids, and sanitised ones which carry exactly one '.'. */
  private static final Pattern COMPONENT = Pattern.compile("[A-Za-z0-9-][A-Za-z0-9_.-]{0,62}");

  private static final Pattern TABLE = Pattern.compile("[a-z][a-z0-9_]{0,30}");

  private AnchorNames() {}

  /**
   * The child anchor name for a container: the id itself when it is 1-63 characters of {@code A-Z
   * a-z 0-9 _ -} starting with a letter or digit; otherwise the id with every other character
   * replaced by {@code -} (and a first character that is not a letter or digit by {@code x}), cut
   * short, then {@code .} and 12 hex digits of its SHA-256. A kept name never holds a {@code .} and
   * a sanitised one always does, so distinct ids give distinct names (up to a 48-bit hash collision
   * between two sanitised ids). A name never starts with {@code -}, {@code _} or {@code .}, so
   * {@link #checkComponent}, the pfctl driver and the pfctl wrapper all accept it.
   *
   * @throws IllegalArgumentException if {@code containerId} is empty
   */
  public static String childName(String containerId) {
    Objects.requireNonNull(containerId, "containerId");
    if (containerId.isEmpty()) {
      throw new IllegalArgumentException("a container id cannot be empty");
    }
    if (KEPT.matcher(containerId).matches()) {
      return containerId;
    }
    String hash = sha256Hex(containerId).substring(0, HASH_HEX_DIGITS);
    StringBuilder safe = new StringBuilder();
    int keep = MAX_COMPONENT_LENGTH - 1 - HASH_HEX_DIGITS;
    for (int i = 0; i < containerId.length() && safe.length() < keep; i++) {
      char c = containerId.charAt(i);
      boolean letterOrDigit =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (i == 0) {
        safe.append(letterOrDigit ? c : 'x');
      } else {
        safe.append(letterOrDigit || c == '-' || c == '_' ? c : '-');
      }
    }
    return safe + "." + hash;
  }

  /**
   * Checks one anchor path component as {@link #childName} makes them.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static String checkComponent(String component) {
    if (!COMPONENT.matcher(component).matches()) {
      throw new IllegalArgumentException(
          UserText.quote(component)
              + " is not a safe pf anchor name: use 1-"
              + MAX_COMPONENT_LENGTH
              + " characters of A-Z a-z 0-9 _ . - not starting with _ or ."
              + " (AnchorNames.childName makes one from a container id)");
    }
    return component;
  }

  /**
   * Checks an anchor path such as {@code com.apple/000.egress}: components separated by {@code /},
   * each checked as by {@link #checkComponent}.
   *
   * @throws IllegalArgumentException naming the bad component
   */
  public static String checkPath(String path) {
    if (path.isEmpty() || path.startsWith("/") || path.endsWith("/")) {
      throw new IllegalArgumentException(
          UserText.quote(path)
              + " is not an anchor path: write components separated by '/',"
              + " such as com.apple/000.egress");
    }
    for (String component : path.split("/", -1)) {
      checkComponent(component);
    }
    return path;
  }

  /**
   * Checks a table name: a lower-case letter, then up to 30 of {@code a-z 0-9 _}.
   *
   * @throws IllegalArgumentException if the name is not one the renderer would make
   */
  public static String checkTableName(String name) {
    if (!TABLE.matcher(name).matches()) {
      throw new IllegalArgumentException(
          UserText.quote(name)
              + " is not a table name the renderer makes: 1-"
              + MAX_TABLE_NAME_LENGTH
              + " characters of a-z 0-9 _, starting with a letter");
    }
    return name;
  }

  private static String sha256Hex(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }
}
