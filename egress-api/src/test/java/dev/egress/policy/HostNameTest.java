package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HostNameTest {
  private static String rejected(String name) {
    return assertThrows(IllegalArgumentException.class, () -> HostName.of(name)).getMessage();
  }

  @Test
  void of_lowerCasesAndDropsOneTrailingDot() {
    assertEquals("api.anthropic.com", HostName.of("API.Anthropic.COM.").ascii());
    assertEquals(HostName.of("a.example"), HostName.of("A.EXAMPLE."));
  }

  @Test
  void of_turnsInternationalisedNamesIntoPunycode() {
    assertEquals("xn--bcher-kva.example", HostName.of("Bücher.example.").ascii());
    assertEquals(HostName.of("xn--bcher-kva.example"), HostName.of("bücher.example"));
  }

  @Test
  void of_withTwoTrailingDots_reportsAnEmptyLabel() {
    assertTrue(rejected("example.com..").contains("empty label"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "."})
  void of_empty_isRejected(String name) {
    assertTrue(rejected(name).contains("empty"));
  }

  @Test
  void of_withTwoDotsInARow_reportsAnEmptyLabel() {
    String message = rejected("a..example.com");
    assertTrue(message.contains("empty label") || message.contains("not a valid"), message);
  }

  @Test
  void labels_ofUpTo63Characters_areAccepted_andLongerOnesRejected() {
    String label63 = "a".repeat(63);
    assertEquals(label63 + ".com", HostName.of(label63 + ".com").ascii());

    String message = rejected("a".repeat(64) + ".com");

    assertTrue(message.contains("64") && message.contains("63"), message);
  }

  @Test
  void names_ofUpTo253Characters_areAccepted_andLongerOnesRejected() {
    String label = "a".repeat(63);
    String name253 = String.join(".", label, label, label, "a".repeat(58) + "com");
    String name254 = String.join(".", label, label, label, "a".repeat(59) + "com");
    assertEquals(253, name253.length());
    assertEquals(name253, HostName.of(name253).ascii());
    assertEquals(name253, HostName.of(name253 + ".").ascii());

    String message = rejected(name254);

    assertTrue(message.contains("254") && message.contains("253"), message);
  }

  @Test
  void punycodeLength_countsTowardsTheLabelLimit() {
    String message = rejected("ü".repeat(60) + ".example");
    assertTrue(message.contains("63") || message.contains("too long"), message);
  }

  @Test
  void of_withAForbiddenCharacter_namesItAndItsPosition() {
    String message = rejected("exa_mple.com");
    assertTrue(message.contains("'_'") && message.contains("position 4"), message);
  }

  @Test
  void of_withASpace_describesItAsACodePoint() {
    assertTrue(rejected("a b.com").contains("U+0020"));
  }

  @Test
  void of_withAControlCharacter_keepsTheMessageOnOneLine() {
    String message = rejected("a\nb.com");
    assertTrue(message.contains("U+000A"), message);
    assertFalse(message.contains("\n"), message);
  }

  @ParameterizedTest
  @ValueSource(strings = {"-a.com", "a-.com", "a.-b-.com"})
  void labels_mayNotStartOrEndWithAHyphen(String name) {
    assertTrue(rejected(name).contains("'-'"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.1.2", "example.123", "1.2.3.4"})
  void names_whoseLastLabelIsANumber_areRejected_withAHintAboutAddresses(String name) {
    String message = rejected(name);
    assertTrue(message.contains("last label is a number"), message);
  }

  @Test
  void a_numericLabelBeforeTheLast_isFine() {
    assertEquals("123.example", HostName.of("123.example").ascii());
  }

  @Test
  void wildcard_isALeadingStarLabel_andIsNormalisedToo() {
    HostName wildcard = HostName.of("*.Bücher.example.");

    assertTrue(wildcard.isWildcard());
    assertEquals("*.xn--bcher-kva.example", wildcard.ascii());
    assertFalse(HostName.of("example.com").isWildcard());
  }

  @ParameterizedTest
  @ValueSource(strings = {"*", "*.", "a.*.com", "**.com", "*a.com", "*.*.com"})
  void wildcards_anywhereButAsTheWholeFirstLabel_areRejected(String name) {
    assertTrue(rejected(name).contains("'*'"));
  }

  @Test
  void compareTo_ordersByAsciiForm() {
    assertTrue(HostName.of("a.example").compareTo(HostName.of("b.example")) < 0);
    assertEquals(0, HostName.of("A.example").compareTo(HostName.of("a.example.")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"ex\u00ADample.com", "ex\u200Bample.com", "a\u202Eb.com", "a\u00A0b.com"})
  void invisibleCharacters_areRefused_notDroppedByIdna(String name) {
    String message = rejected(name);
    assertTrue(message.contains(" has the character U+"), message);
    assertTrue(UserTextTest.isSafe(message), message);
  }

  @ParameterizedTest
  @ValueSource(strings = {"a\u2FF0b.example", "a\u05D0.example"})
  void idnaProblems_areReported_withoutTheInputIdnaAppends(String name) {
    String message = rejected(name);
    assertTrue(
        message.endsWith(
                "is not a valid internationalised name: it holds a code point that IDNA"
                    + " prohibits")
            || message.endsWith(": a label mixes right-to-left and left-to-right letters"),
        message);
  }

  @Test
  void aLongName_isQuotedCut() {
    String message = rejected("a".repeat(3000) + "_.com");
    assertTrue(message.contains("...' (3005 characters)"), message);
    assertTrue(message.length() < 300, message);
  }
}
