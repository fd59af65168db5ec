package dev.egress.policy;

/**
 * Text from outside (policy files, command lines, file names, other programs' messages) made safe
 * to put in a message: what a terminal would not show as itself is escaped visibly, and what is
 * quoted is capped with a visible marker. Every message that echoes such text goes through here, so
 * a right-to-left override cannot reorder what a terminal shows, a zero-width character cannot
 * hide, a line separator cannot forge a second message, and a 3 MB token cannot become a 3 MB
 * message.
 *
 * <p>Escaped as <code>&#92;uXXXX</code> (or <code>&#92;UXXXXXXXX</code> beyond U+FFFF), by Unicode
 * general category:
 *
 * <ul>
 *   <li>Cc controls (C0, DEL, C1: tab and newline too);
 *   <li>Cf format characters: bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E,
 *       U+200F), zero-width characters (U+200B-U+200D, U+2060), the soft hyphen U+00AD, the byte
 *       order mark U+FEFF, tag characters;
 *   <li>Cs surrogates that are not part of a pair, Co private use, Cn unassigned;
 *   <li>Zl and Zp line and paragraph separators, Zs spaces other than U+0020 (a no-break space
 *       looks like a separator but is not one);
 *   <li>letters and symbols that render blank (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the
 *       braille blank U+2800, U+17B4, U+17B5, the combining grapheme joiner U+034F);
 *   <li>combining marks (Mn, Mc, Me) except right after a shown letter or up to {@value
 *       #MAX_MARKS_PER_LETTER} of them in a row there, so that a mark cannot merge with a quote or
 *       pile up over a line.
 * </ul>
 *
 * <p>Everything else, letters of every script included, is shown as itself: {@code 'Bücher'} stays
 * readable. Backslashes and quotes are not escaped, so escaping is idempotent: a message built from
 * escaped parts passes {@link #line} unchanged, however many layers relay it. (The price: text that
 * holds a literal <code>&#92;u202E</code> reads the same as an escaped U+202E; the file has the
 * exact bytes.)
 */
public final class UserText {
  /** How many characters of escaped text {@link #quote} shows at most. */
  public static final int MAX_QUOTED = 80;

  /** How many characters of escaped text {@link #line} keeps at most. */
  public static final int MAX_LINE = 1000;

  static final int MAX_MARKS_PER_LETTER = 4;

  private UserText() {}

  /**
   * {@code text} in single quotes for a message, escaped, at most {@value #MAX_QUOTED} characters
   * of it: <code>'api.example&#92;u202Ecom'</code>, or {@code 'aaaa...' (3051 characters)} when
   * cut. At most {@value #MAX_QUOTED} + 30 characters long.
   */
  public static String quote(CharSequence text) {
    StringBuilder out = new StringBuilder("'");
    boolean cut = escape(text, MAX_QUOTED, out);
    out.append(cut ? "...'" : "'");
    return cut ? out + count(text) : out.toString();
  }

  /**
   * One line of text from elsewhere (a file name, another library's message), escaped, at most
   * {@value #MAX_LINE} characters long: cut text ends in {@code ... (N characters)}. Line breaks
   * are escaped like any control, so the result is one line. Idempotent: {@code line(line(t))} is
   * {@code line(t)}, and a message built from {@link #quote}s passes unchanged.
   */
  public static String line(CharSequence text) {
    StringBuilder out = new StringBuilder();
    if (!escape(text, MAX_LINE, out)) {
      return out.toString();
    }
    // Cut so that the marker fits too: a cut line then passes through here unchanged.
    String marker = "..." + count(text);
    out.setLength(0);
    escape(text, MAX_LINE - marker.length(), out);
    return out + marker;
  }

  /**
   * One character for a message: {@code '_'} when it is visible ASCII, otherwise its code point and
   * name, {@code U+202E (RIGHT-TO-LEFT OVERRIDE)}.
   */
  public static String character(int codePoint) {
    if (codePoint > 0x20 && codePoint < 0x7f) {
      return "'" + (char) codePoint + "'";
    }
    String name = Character.isValidCodePoint(codePoint) ? Character.getName(codePoint) : null;
    return String.format("U+%04X", codePoint) + (name == null ? "" : " (" + name + ")");
  }

  /**
   * Appends the escaped form of {@code text} to {@code out} while it stays within {@code max}
   * characters; returns whether some of the text did not fit.
   */
  private static boolean escape(CharSequence text, int max, StringBuilder out) {
    int limit = out.length() + max;
    int previous = '\'';
    int marks = 0;
    for (int i = 0; i < text.length(); ) {
      int codePoint = Character.codePointAt(text, i);
      boolean mark = isMark(codePoint);
      boolean shown =
          !isBlank(codePoint)
              && (mark
                  ? marks < MAX_MARKS_PER_LETTER && (Character.isLetter(previous) || marks > 0)
                  : isShown(codePoint));
      String piece = shown ? Character.toString(codePoint) : escaped(codePoint);
      if (out.length() + piece.length() > limit) {
        return true;
      }
      out.append(piece);
      marks = mark && shown ? marks + 1 : 0;
      previous = shown ? codePoint : '\\';
      i += Character.charCount(codePoint);
    }
    return false;
  }

  private static boolean isMark(int codePoint) {
    int type = Character.getType(codePoint);
    return type == Character.NON_SPACING_MARK
        || type == Character.COMBINING_SPACING_MARK
        || type == Character.ENCLOSING_MARK;
  }

  /**
   * Whether {@code codePoint} is shown as itself wherever it stands: not escaped for its category
   * or as blank (combining marks, shown only on a letter, count as visible here).
   */
  static boolean isVisible(int codePoint) {
    return !isBlank(codePoint) && (isMark(codePoint) || isShown(codePoint));
  }

  private static boolean isShown(int codePoint) {
    switch (Character.getType(codePoint)) {
      case Character.CONTROL,
      Character.FORMAT,
      Character.SURROGATE,
      Character.PRIVATE_USE,
      Character.UNASSIGNED,
      Character.LINE_SEPARATOR,
      Character.PARAGRAPH_SEPARATOR:
        return false;
      case Character.SPACE_SEPARATOR:
        return codePoint == ' ';
      default:
        return true;
    }
  }

  private static boolean isBlank(int codePoint) {
    return codePoint == 0x115F
        || codePoint == 0x1160
        || codePoint == 0x3164
        || codePoint == 0xFFA0
        || codePoint == 0x2800
        || codePoint == 0x17B4
        || codePoint == 0x17B5
        || codePoint == 0x034F;
  }

  private static String escaped(int codePoint) {
    return Character.isBmpCodePoint(codePoint)
        ? String.format("\\u%04X", codePoint)
        : String.format("\\U%08X", codePoint);
  }

  private static String count(CharSequence text) {
    return " (" + Character.codePointCount(text, 0, text.length()) + " characters)";
  }
}
