package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever the text, the parser either returns a policy or throws {@link PolicySyntaxException}
 * whose every problem points inside the text and says what is wrong on one line, in a message that
 * holds nothing a terminal would not show as itself (see {@link UserText}) and is at most {@value
 * #MAX_MESSAGE} characters long.
 */
class PolicyTextHostileProperties {
  static final int MAX_MESSAGE = 500;

  private static final List<String> VALID_FILES =
      List.of(
          "# NanoClaw agent container\n"
              + "allow api.anthropic.com port 443\n"
              + "allow 160.79.104.0/23 port 443\n"
              + "allow gateway port 3001\n"
              + "allow 10.1.2.3 port 5432-5433 proto tcp\n"
              + "allow 192.0.2.7 port 3478 proto udp\n"
              + "dns gateway\n"
              + "log denied\n",
          "allow fd00::/8 port 1-52 proto udp\r\nallow *.example.com port 443\r\ndns 10.0.0.53 fd00::53\r\n",
          "allow unsafe-any-address port 80\n\tallow Bücher.example. port 8443 # books\ndns none\n");

  private static final List<String> TOKENS =
      List.of(
          "allow",
          "dns",
          "log",
          "denied",
          "port",
          "proto",
          "tcp",
          "udp",
          "gateway",
          "none",
          "unsafe-any-address",
          "443",
          "53",
          "0",
          "65535",
          "65536",
          "5432-5433",
          "443-80",
          "1-2-3",
          "99999999999999999999999999",
          "-1",
          "10.0.0.1",
          "10.0.0.0/8",
          "10.1.2.3/8",
          "0.0.0.0/0",
          "::1",
          "::ffff:1.2.3.4",
          "fd00::/8",
          "fd00::/999",
          "::/0",
          "[::1]",
          "fe80::1%en0",
          "example.com",
          "*.example.com",
          "a.*.b",
          "Bücher.example",
          "xn--",
          "xn--zz.example",
          "a".repeat(300) + ".com",
          "\"quoted\"",
          "'single'",
          "{",
          "}",
          "{ a, b }",
          "#",
          "# comment",
          "\0",
          "\u0085",
          "\u2028",
          "\u00a0",
          "\ufeff",
          "\ud83d\ude00",
          "\ud800",
          "\t",
          "\r",
          "\n",
          "é",
          "١٢٣",
          "10.0.0.0/٨",
          ".::1",
          "..",
          ".",
          "-",
          "*",
          "/",
          ":",
          "%",
          "\u202E",
          "a\u202Eb",
          "\u200B",
          "ex\u00ADample.com",
          "\u0301",
          "\u001B[2J",
          "\uDB40\uDC01",
          "x".repeat(3051),
          "1".repeat(3051),
          "10.0.0." + "9".repeat(3000),
          "x".repeat(70) + "\u202E" + "y".repeat(70) + ".com");

  @Provide
  Arbitrary<String> tokenSoup() {
    Arbitrary<String> separator = Arbitraries.of(" ", " ", " ", "\t", "\n", "\r\n", "", "#");
    return Combinators.combine(Arbitraries.of(TOKENS), separator)
        .as((token, sep) -> token + sep)
        .list()
        .ofMaxSize(20)
        .map(parts -> String.join("", parts));
  }

  @Provide
  Arbitrary<String> anyText() {
    return Arbitraries.strings().all().ofMaxLength(200);
  }

  @Provide
  Arbitrary<String> hostileCharacters() {
    return Arbitraries.strings()
        .withChars(
            " \t\n\r\"'{}#\0/.:-*0123456789abcdefxyzé€\u2028\u00a0\ufeff\u202e\u200b\u00ad\u0301\ud800")
        .ofMaxLength(120);
  }

  /** A valid file with a few random edits: insertions, deletions, replaced characters. */
  @Provide
  Arbitrary<String> mutatedFiles() {
    Arbitrary<Mutation> mutation =
        Combinators.combine(
                Arbitraries.integers().between(0, 2),
                Arbitraries.doubles().between(0, 1),
                Arbitraries.integers().between(0, 12),
                Arbitraries.of(TOKENS))
            .as(Mutation::new);
    return Combinators.combine(
            Arbitraries.of(VALID_FILES), mutation.list().ofMinSize(1).ofMaxSize(4))
        .as(
            (file, mutations) -> {
              String text = file;
              for (Mutation m : mutations) {
                text = m.apply(text);
              }
              return text;
            });
  }

  private record Mutation(int kind, double where, int length, String token) {
    String apply(String text) {
      int at = (int) (where * text.length());
      int end = Math.min(text.length(), at + length);
      switch (kind) {
        case 0:
          return text.substring(0, at) + token + text.substring(at);
        case 1:
          return text.substring(0, at) + text.substring(end);
        default:
          return text.substring(0, at) + token + text.substring(end);
      }
    }
  }

  @Property(tries = 1000)
  void tokenSoup_isParsedOrRejectedWithPositionedProblems(@ForAll("tokenSoup") String text) {
    checkParsedOrProperlyRejected(text);
  }

  @Property(tries = 1000)
  void anyText_isParsedOrRejectedWithPositionedProblems(@ForAll("anyText") String text) {
    checkParsedOrProperlyRejected(text);
  }

  @Property(tries = 1000)
  void hostileCharacters_areParsedOrRejectedWithPositionedProblems(
      @ForAll("hostileCharacters") String text) {
    checkParsedOrProperlyRejected(text);
  }

  @Property(tries = 1000)
  void mutatedValidFiles_areParsedOrRejectedWithPositionedProblems(
      @ForAll("mutatedFiles") String text) {
    checkParsedOrProperlyRejected(text);
  }

  @Property(tries = 200)
  void prefixes_ofValidFiles_areParsedOrRejectedWithPositionedProblems(
      @ForAll("validFileIndex") int file, @ForAll double cut) {
    String text = VALID_FILES.get(file);
    checkParsedOrProperlyRejected(text.substring(0, (int) (Math.abs(cut % 1) * text.length())));
  }

  @Provide
  Arbitrary<Integer> validFileIndex() {
    return Arbitraries.integers().between(0, VALID_FILES.size() - 1);
  }

  private static void checkParsedOrProperlyRejected(String text) {
    EgressPolicy policy;
    try {
      policy = PolicyText.parse(text, "hostile.policy");
    } catch (PolicySyntaxException e) {
      String[] lines = text.split("\n", -1);
      assertFalse(e.problems().isEmpty());
      for (PolicySyntaxException.Problem problem : e.problems()) {
        assertEquals("hostile.policy", problem.source());
        assertTrue(problem.line() >= 1 && problem.line() <= lines.length, problem.toString());
        String line = lines[problem.line() - 1];
        int length = line.endsWith("\r") ? line.length() - 1 : line.length();
        assertTrue(
            problem.column() >= 1 && problem.column() <= length + 1,
            problem + " (line length " + length + ")");
        assertFalse(problem.message().isBlank(), problem.toString());
        assertTrue(
            problem.message().lines().count() == 1
                && problem
                    .message()
                    .chars()
                    .noneMatch(
                        c -> c == '\n' || c == '\r' || c == 0x85 || c == 0x2028 || c == 0x2029),
            "message spans lines: " + problem);
        assertTrue(UserTextTest.isSafe(problem.message()), "unsafe message: " + problem);
        assertTrue(
            problem.message().length() <= MAX_MESSAGE,
            problem.message().length() + " characters: " + problem);
      }
      return;
    } catch (RuntimeException e) {
      throw new AssertionError("parse threw " + e + " for " + UserText.quote(text), e);
    }
    // What parses must be stable: its canonical text parses back to it.
    try {
      assertEquals(policy, PolicyText.parse(PolicyText.format(policy), "canonical"));
    } catch (PolicySyntaxException e) {
      fail("the canonical form of a parsed policy does not parse: " + e.getMessage());
    }
  }
}
