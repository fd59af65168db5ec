package dev.egress.pf.pfctl;

import dev.egress.policy.HostName;
import dev.egress.policy.UserText;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
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

  /**
   * The table of host name {@code name}'s addresses, for anchors that keep one table per name
   * (under {@code dns filter}, where a grant adds to one name's set): {@code n_}, the name with
   * every character but {@code a-z 0-9} as {@code _} cut to 20 characters, {@code _} and 8 hex
   * digits of the name's SHA-256. Readable and deterministic; never a name the renderer gives
   * another table (those never start with {@code n_}). Two names of one anchor share a table only
   * on a 32-bit hash collision, which the renderer refuses.
   */
  public static TableName forHostName(HostName name) {
    String text = name.ascii();
    StringBuilder readable = new StringBuilder("n_");
    for (int i = 0; i < text.length() && readable.length() < 22; i++) {
      char c = text.charAt(i);
      readable.append((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_');
    }
    byte[] digest;
    try {
      digest =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.US_ASCII));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    return new TableName(readable + "_" + HexFormat.of().formatHex(digest, 0, 4));
  }

  @Override
  public String toString() {
    return value;
  }
}
