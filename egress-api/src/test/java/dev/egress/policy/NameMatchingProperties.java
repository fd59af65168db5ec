package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The names a DNS filter answers: {@link EgressPolicy#namesCovering} equals a reference definition
 * written on label lists, and hostile query names ({@link HostName#ofQuery}) never match anything
 * but what their plain lower-case spelling names.
 */
class NameMatchingProperties {
  /** Few, short labels, so that asked names and policy names often share suffixes. */
  private static final List<String> LABELS = List.of("a", "b", "cdn", "example", "x-1", "com");

  /**
   * The reference: an exact name covers the same labels; {@code *.suffix} covers names with more
   * labels than the suffix whose last labels are the suffix's. Labels compare ignoring ASCII case.
   */
  private static boolean referenceCovers(String pattern, String asked) {
    List<String> askedLabels = labels(asked);
    if (pattern.startsWith("*.")) {
      List<String> suffix = labels(pattern.substring(2));
      return askedLabels.size() > suffix.size()
          && askedLabels
              .subList(askedLabels.size() - suffix.size(), askedLabels.size())
              .equals(suffix);
    }
    return askedLabels.equals(labels(pattern));
  }

  private static List<String> labels(String name) {
    String trimmed = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    return Arrays.asList(trimmed.toLowerCase(Locale.ROOT).split("\\."));
  }

  @Property
  void namesCovering_isTheReferenceDefinition(
      @ForAll("policyNames") List<String> policyNames, @ForAll("askedNames") String asked) {
    EgressPolicy.Builder builder = EgressPolicy.builder().dns(DnsRule.filter());
    policyNames.forEach(name -> builder.allowTcp(Destination.host(name), 443));
    EgressPolicy policy = builder.build();
    SortedSet<HostName> expected = new TreeSet<>();
    for (String name : policyNames) {
      if (referenceCovers(name, asked)) {
        expected.add(HostName.of(name));
      }
    }

    assertEquals(expected, policy.namesCovering(HostName.ofQuery(asked).orElseThrow()));
  }

  @Property
  void ofQuery_ofAHostileName_isEmptyOrItsPlainLowerCaseSpelling(
      @ForAll("hostileNames") String presentation) {
    Optional<HostName> asked = HostName.ofQuery(presentation);

    asked.ifPresent(
        name -> {
          String plain =
              (presentation.endsWith(".")
                      ? presentation.substring(0, presentation.length() - 1)
                      : presentation)
                  .toLowerCase(Locale.ROOT);
          assertEquals(plain, name.ascii());
          assertTrue(plain.chars().allMatch(c -> isLdh(c) || c == '.'), plain);
          assertTrue(labels(plain).stream().allMatch(l -> !l.isEmpty() && l.length() <= 63));
          assertTrue(!name.isWildcard());
        });
  }

  @Property
  void hostileNames_areCoveredOnlyAsTheirPlainSpellingIs(
      @ForAll("policyNames") List<String> policyNames, @ForAll("hostileNames") String asked) {
    EgressPolicy.Builder builder = EgressPolicy.builder().dns(DnsRule.filter());
    policyNames.forEach(name -> builder.allowTcp(Destination.host(name), 443));
    EgressPolicy policy = builder.build();
    boolean plain = asked.chars().allMatch(c -> isLdh(c) || c == '.');

    Optional<HostName> parsed = HostName.ofQuery(asked);
    boolean covered = parsed.map(name -> !policy.namesCovering(name).isEmpty()).orElse(false);

    if (covered) {
      assertTrue(plain, asked);
      assertTrue(policyNames.stream().anyMatch(name -> referenceCovers(name, asked)), asked);
    }
  }

  @Property
  void caseMixing_decidesAsLowerCase(
      @ForAll("askedNames") String asked, @ForAll("flips") List<Boolean> flips) {
    StringBuilder mixed = new StringBuilder();
    for (int i = 0; i < asked.length(); i++) {
      char c = asked.charAt(i);
      mixed.append(flips.get(i % flips.size()) ? Character.toUpperCase(c) : c);
    }

    assertEquals(HostName.ofQuery(asked), HostName.ofQuery(mixed.toString()));
  }

  private static boolean isLdh(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  }

  @Provide
  Arbitrary<List<String>> policyNames() {
    Arbitrary<String> exact =
        Arbitraries.of(LABELS).list().ofMinSize(1).ofMaxSize(3).map(NameMatchingProperties::join);
    Arbitrary<String> wildcard = exact.map(name -> "*." + name);
    return Arbitraries.oneOf(exact, wildcard).list().ofMinSize(1).ofMaxSize(4);
  }

  @Provide
  Arbitrary<String> askedNames() {
    return Arbitraries.of(LABELS)
        .list()
        .ofMinSize(1)
        .ofMaxSize(5)
        .map(NameMatchingProperties::join)
        .filter(name -> !name.matches("(.*\\.)?[0-9]+"));
  }

  @Provide
  Arbitrary<List<Boolean>> flips() {
    return Arbitraries.of(true, false).list().ofMinSize(1).ofMaxSize(8);
  }

  /**
   * Names built from allowed labels and hostile pieces: NUL, escapes as a DNS library prints them,
   * a dot inside a label, {@code *}, underscore, non-ASCII letters (an IDN the query did not
   * encode), labels of 63 to 70 characters, upper case, and a trailing dot.
   */
  @Provide
  Arbitrary<String> hostileNames() {
    Arbitrary<String> hostileLabel =
        Arbitraries.oneOf(
            Arbitraries.of(LABELS),
            Arbitraries.of(
                "\u0000",
                "a\u0000b",
                "\\000",
                "cdn\\.example",
                "\\046",
                "*",
                "_dmarc",
                "b\u00fccher",
                "xn--bcher-kva",
                "CDN",
                "ExAmPlE",
                "-a",
                "a-",
                "",
                " ",
                "\u202e"),
            Arbitraries.strings().withChars('a', 'b').ofMinLength(62).ofMaxLength(70));
    return Combinators.combine(
            hostileLabel.list().ofMinSize(1).ofMaxSize(5), Arbitraries.of("", "."))
        .as((labels, end) -> join(labels) + end);
  }

  private static String join(List<String> labels) {
    return String.join(".", new ArrayList<>(labels));
  }
}
