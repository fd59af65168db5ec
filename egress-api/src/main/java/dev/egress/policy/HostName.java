package dev.egress.policy;

import java.net.IDN;
import java.util.Locale;
import java.util.Optional;

/**
 * A DNS host name as a policy names it, normalised to lower-case ASCII (internationalised names
 * become punycode) without a trailing dot, and always absolute: enforcers resolve it as written,
 * never through a search path.
 *
 * <p>A name may start with the wildcard label {@code *} ({@code *.example.com}). A wildcard cannot
 * be resolved to addresses; it needs DNS filtering, and an enforcer that cannot filter DNS refuses
 * a policy that holds one. {@code *.example.com} {@link #covers covers} every name with one or more
 * labels below {@code example.com}, and not {@code example.com} itself.
 *
 * @param ascii the normalised name, for example {@code api.anthropic.com}
 */
public record HostName(String ascii) implements Comparable<HostName> {
  private static final int MAX_NAME_LENGTH = 253;
  private static final int MAX_LABEL_LENGTH = 63;

  /**
   * Validates and normalises {@code ascii}; accepts upper case, Unicode and one trailing dot.
   *
   * @throws IllegalArgumentException naming what is wrong with the name
   */
  public HostName {
    ascii = normalise(ascii);
  }

  /**
   * Same as the constructor: {@code HostName.of("Bücher.example.")} is {@code
   * xn--bcher-kva.example}.
   */
  public static HostName of(String name) {
    return new HostName(name);
  }

  /**
   * The name a DNS query asks for, given in presentation form as a DNS library prints it (escapes
   * such as {@code \000} or {@code \.} for bytes that are not letters, digits or hyphens); empty
   * when it is not a host name a policy could name: anything but ASCII letters, digits, hyphens and
   * dots (an underscore, an escape, a {@code *} label, a byte above 0x7f), an empty or over-long
   * label, a label starting or ending with a hyphen, a numeric last label, or more than 253
   * characters. Letters are lower-cased, one trailing dot is dropped. No allow line covers a name
   * this refuses, so a filter answers it without asking anyone.
   */
  public static Optional<HostName> ofQuery(String presentation) {
    for (int i = 0; i < presentation.length(); i++) {
      char c = presentation.charAt(i);
      if (!(isLetterOrDigit(c) || c == '-' || c == '.')) {
        return Optional.empty();
      }
    }
    try {
      return Optional.of(new HostName(presentation));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether an allow line naming this name covers a query for {@code asked}: an exact name covers
   * itself only; {@code *.example.com} covers names with one or more labels below {@code
   * example.com}, not the apex. A wildcard {@code asked} is covered by nothing (a query never asks
   * for a pattern). Both are normalised, so the match ignores case and a trailing dot.
   */
  public boolean covers(HostName asked) {
    if (asked.isWildcard()) {
      return false;
    }
    return isWildcard() ? asked.ascii.endsWith(ascii.substring(1)) : ascii.equals(asked.ascii);
  }

  /** Whether the first label is {@code *}. */
  public boolean isWildcard() {
    return ascii.startsWith("*.");
  }

  @Override
  public int compareTo(HostName other) {
    return ascii.compareTo(other.ascii);
  }

  @Override
  public String toString() {
    return ascii;
  }

  private static String normalise(String name) {
    String trimmed = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    if (trimmed.isEmpty()) {
      throw new IllegalArgumentException("host name is empty");
    }
    boolean wildcard = trimmed.startsWith("*.");
    String rest = wildcard ? trimmed.substring(2) : trimmed;
    for (int i = 0; i < rest.length(); i += Character.charCount(rest.codePointAt(i))) {
      int c = rest.codePointAt(i);
      // Invisible characters (a soft hyphen, a zero-width space) would vanish in IDNA and leave a
      // name that differs from what the file seems to say; they are refused, not dropped.
      if (c < 0x80 ? !(isLetterOrDigit(c) || c == '-' || c == '.') : !UserText.isVisible(c)) {
        throw new IllegalArgumentException(
            "host name "
                + UserText.quote(name)
                + " has the character "
                + UserText.character(c)
                + " at position "
                + (i + 1 + (wildcard ? 2 : 0))
                + ": only letters, digits, '-' and '.' (and a leading '*.') are allowed");
      }
    }
    String ascii;
    try {
      // ASCII names skip IDNA so that the checks below, not IDN's terse messages, explain errors.
      ascii =
          rest.chars().allMatch(c -> c < 0x80)
              ? rest.toLowerCase(Locale.ROOT)
              : IDN.toASCII(rest, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "host name "
              + UserText.quote(name)
              + " is not a valid internationalised name: "
              + idnaProblem(e),
          e);
    }
    String[] labels = ascii.split("\\.", -1);
    for (String label : labels) {
      if (label.isEmpty()) {
        throw new IllegalArgumentException(
            "host name " + UserText.quote(name) + " has an empty label (two dots in a row?)");
      }
      if (label.length() > MAX_LABEL_LENGTH) {
        throw new IllegalArgumentException(
            "host name "
                + UserText.quote(name)
                + " has a label of "
                + label.length()
                + " characters; DNS allows at most "
                + MAX_LABEL_LENGTH);
      }
      if (label.startsWith("-") || label.endsWith("-")) {
        throw new IllegalArgumentException(
            "host name " + UserText.quote(name) + " has a label that starts or ends with '-'");
      }
    }
    String last = labels[labels.length - 1];
    if (last.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(
          UserText.quote(name)
              + " is not a host name (its last label is a number);"
              + " write an IPv4 address as four numbers 0-255, such as 10.1.2.3");
    }
    String full = wildcard ? "*." + ascii : ascii;
    if (full.length() > MAX_NAME_LENGTH) {
      throw new IllegalArgumentException(
          "host name is "
              + full.length()
              + " characters long; DNS allows at most "
              + MAX_NAME_LENGTH);
    }
    return full;
  }

  private static boolean isLetterOrDigit(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  /**
   * IDNA's complaint without the input that some of its messages append raw: the known ones in our
   * words, any other quoted (so cut and escaped).
   */
  private static String idnaProblem(IllegalArgumentException e) {
    String message = String.valueOf(e.getMessage());
    if (message.contains("unassigned code point")) {
      return "it holds a code point that IDNA does not know (unassigned in its Unicode version)";
    }
    if (message.contains("prohibited code point")) {
      return "it holds a code point that IDNA prohibits";
    }
    if (message.contains("BiDi")) {
      return "a label mixes right-to-left and left-to-right letters";
    }
    return UserText.quote(message);
  }
}
