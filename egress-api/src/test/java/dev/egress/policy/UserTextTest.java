package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class UserTextTest {

  /**
   * Whether {@code message} holds only what {@link UserText} shows as itself: no control, format,
   * surrogate, private-use, unassigned, separator or blank character, and combining marks only on a
   * letter, a few at most. Written from the class's documented rule, not from its code.
   */
  static boolean isSafe(String message) {
    int previous = '\'';
    int marks = 0;
    for (int i = 0; i < message.length(); ) {
      int c = message.codePointAt(i);
      int type = Character.getType(c);
      boolean mark =
          type == Character.NON_SPACING_MARK
              || type == Character.COMBINING_SPACING_MARK
              || type == Character.ENCLOSING_MARK;
      if (type == Character.CONTROL
          || type == Character.FORMAT
          || type == Character.SURROGATE
          || type == Character.PRIVATE_USE
          || type == Character.UNASSIGNED
          || type == Character.LINE_SEPARATOR
          || type == Character.PARAGRAPH_SEPARATOR
          || (type == Character.SPACE_SEPARATOR && c != ' ')
          || "\u115F\u1160\u3164\uFFA0\u2800\u17B4\u17B5\u034F".indexOf(c) >= 0) {
        return false;
      }
      if (mark && !(Character.isLetter(previous) || (marks > 0 && marks < 4))) {
        return false;
      }
      marks = mark ? marks + 1 : 0;
      previous = c;
      i += Character.charCount(c);
    }
    return true;
  }

  static Stream<Arguments> escapes() {
    return Stream.of(
        arguments("right-to-left override", "a\u202Eb", "'a\\u202Eb'"),
        arguments("zero-width space", "a\u200Bb", "'a\\u200Bb'"),
        arguments("soft hyphen", "a\u00ADb", "'a\\u00ADb'"),
        arguments("byte order mark", "\uFEFFa", "'\\uFEFFa'"),
        arguments("line separator", "a\u2028b", "'a\\u2028b'"),
        arguments("no-break space", "a\u00A0b", "'a\\u00A0b'"),
        arguments("hangul filler", "a\u3164b", "'a\\u3164b'"),
        arguments("escape sequence", "\u001B[31mred", "'\\u001B[31mred'"),
        arguments("unpaired surrogate", "a\uD800b", "'a\\uD800b'"),
        arguments("tag character", "a\uDB40\uDC01b", "'a\\U000E0001b'"),
        arguments("private use", "\uE000", "'\\uE000'"),
        arguments("letters of other scripts", "Bücher.пример", "'Bücher.пример'"),
        arguments("a mark on a letter", "e\u0301", "'e\u0301'"),
        arguments("a mark on the quote", "\u0301e", "'\\u0301e'"),
        arguments("an emoji", "\uD83D\uDE00", "'\uD83D\uDE00'"),
        arguments("backslash and quote", "a\\'b", "'a\\'b'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("escapes")
  void quote_escapesWhatATerminalWouldNotShowAsItself(String why, String text, String quoted) {
    assertEquals(quoted, UserText.quote(text));
  }

  @Test
  void quote_ofControlsAndSeparators_isOneLine() {
    assertEquals("'a\\u000Ab\\u000Dc\\u0085d\\u0009e'", UserText.quote("a\nb\rc\u0085d\te"));
  }

  @Test
  void quote_cutsLongText_withAVisibleMarkerAndTheLength() {
    assertEquals(
        "'" + "x".repeat(UserText.MAX_QUOTED) + "...' (3051 characters)",
        UserText.quote("x".repeat(3051)));
    assertEquals("'" + "x".repeat(80) + "'", UserText.quote("x".repeat(80)));
  }

  @Test
  void quote_neverCutsAnEscapeInHalf() {
    String quoted = UserText.quote("x".repeat(78) + "\u202E");
    assertEquals("'" + "x".repeat(78) + "...' (79 characters)", quoted);
  }

  @Test
  void quote_showsAFewMarksOnALetter_andEscapesAPile() {
    assertEquals(
        "'e\u0301\u0302\u0303\u0304\\u0305\\u0306'",
        UserText.quote("e\u0301\u0302\u0303\u0304\u0305\u0306"));
  }

  @Test
  void line_keepsSpacesAndQuotes_escapesBreaks_andCutsAtTheLineLimit() {
    assertEquals(
        "file 'a b': no such file\\u000Aforged", UserText.line("file 'a b': no such file\nforged"));
    String cut = UserText.line("y".repeat(5000));
    assertEquals("y".repeat(UserText.MAX_LINE - 21) + "... (5000 characters)", cut);
    assertEquals(UserText.MAX_LINE, cut.length());
  }

  @Test
  void character_showsVisibleAsciiQuoted_andAnythingElseByCodePointAndName() {
    assertEquals("'_'", UserText.character('_'));
    assertEquals("U+0020 (SPACE)", UserText.character(' '));
    assertEquals("U+202E (RIGHT-TO-LEFT OVERRIDE)", UserText.character(0x202E));
    assertEquals("U+E0001 (LANGUAGE TAG)", UserText.character(0xE0001));
  }

  @Provide
  Arbitrary<String> anyText() {
    Arbitrary<String> mostlyHostile =
        Arbitraries.strings()
            .withChars("a\u0301\u202E\u200B\u00AD\uD800\uDC00\u3164\u2028 '\\\n\u00A0é")
            .ofMaxLength(300);
    return Arbitraries.oneOf(Arbitraries.strings().all().ofMaxLength(3000), mostlyHostile);
  }

  @Property(tries = 2000)
  void quote_ofAnyText_isSafe_bounded_andPassesLineUnchanged(@ForAll("anyText") String text) {
    String quoted = UserText.quote(text);

    assertTrue(isSafe(quoted), quoted);
    assertTrue(quoted.length() <= UserText.MAX_QUOTED + 30, quoted);
    assertEquals(quoted, UserText.line(quoted));
  }

  @Property(tries = 2000)
  void line_ofAnyText_isSafe_bounded_andIdempotent(@ForAll("anyText") String text) {
    String line = UserText.line(text);

    assertTrue(isSafe(line), line);
    assertTrue(line.length() <= UserText.MAX_LINE, line);
    assertEquals(line, UserText.line(line));
  }

  @Property(tries = 500)
  void quote_ofShortVisibleText_isTheTextItself(@ForAll("visibleText") String text) {
    assertEquals("'" + text + "'", UserText.quote(text));
  }

  @Provide
  Arbitrary<String> visibleText() {
    return Arbitraries.strings()
        .withCharRange('!', '~')
        .withChars("äßéπж日本 ")
        .ofMaxLength(UserText.MAX_QUOTED);
  }
}
