package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class PfctlOutputProperties {
  private static final List<String> NOISE =
      List.of(
          "No ALTQ support in kernel",
          "ALTQ related functions disabled",
          "pfctl: Use of -f option, could result in flushing of rules",
          "present in the main ruleset added by the system at startup.",
          "See /etc/pf.conf for further details.",
          "Token : 12345678901234",
          "pf enabled",
          "3/3 addresses added.",
          "2 addresses deleted.",
          "1 table created.",
          "no changes.",
          "rules cleared",
          "killed 4 states from 1 sources and 0 destinations");
  private static final List<String> ERRORS =
      List.of(
          "sudo: a password is required",
          "pfctl: /dev/pf: Permission denied",
          "stdin:3: syntax error",
          "pfctl: DIOCXCOMMIT: Device busy",
          "pfctl: Table does not exist.");

  @Provide
  Arbitrary<List<String>> stderrLines() {
    return Arbitraries.of(concat()).list().ofMaxSize(12);
  }

  private static List<String> concat() {
    List<String> all = new ArrayList<>(NOISE);
    all.addAll(ERRORS);
    return all;
  }

  @Property(tries = 300)
  void significantStderr_keepsExactlyTheErrors_inOrder(@ForAll("stderrLines") List<String> lines) {
    String stderr = String.join("\n", lines.stream().map(l -> "  " + l + " ").toList()) + "\n";
    List<String> expected = lines.stream().filter(ERRORS::contains).toList();
    assertEquals(expected, PfctlOutput.significantStderr(stderr));
  }

  @Property(tries = 200)
  void enableToken_findsTheTokenAmongNoise(
      @ForAll("stderrLines") List<String> before, @ForAll long token) {
    token = Math.abs(token == Long.MIN_VALUE ? 0 : token);
    String text =
        String.join("\n", before.stream().filter(l -> !l.startsWith("Token")).toList())
            + "\nToken : "
            + token
            + "\n";
    assertEquals(token, PfctlOutput.enableToken(text).orElseThrow());
  }

  @Example
  void infoSaysEnabled_readsTheStatusLine() {
    assertTrue(
        PfctlOutput.infoSaysEnabled(
            "Status: Enabled for 0 days 01:02:03           Debug: Urgent\n\nState Table\n"));
    assertFalse(
        PfctlOutput.infoSaysEnabled("Status: Disabled                              Debug: None\n"));
    assertThrows(
        IllegalArgumentException.class, () -> PfctlOutput.infoSaysEnabled("Status: Maybe\n"));
    assertThrows(IllegalArgumentException.class, () -> PfctlOutput.infoSaysEnabled(""));
  }

  @Property(tries = 200)
  void rulesAndAnchorsAndTables_areTheTrimmedNonBlankLines(@ForAll("words") List<String> lines) {
    String output = String.join("\n", lines.stream().map(l -> "   " + l).toList()) + "\n\n";
    List<String> expected = lines.stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    assertEquals(expected, PfctlOutput.anchors(output));
    assertEquals(expected, PfctlOutput.tableEntries(output));
    assertEquals(
        expected.stream().map(l -> l.replaceAll("\\s+", " ")).toList(), PfctlOutput.rules(output));
  }

  @Provide
  Arbitrary<List<String>> words() {
    return Arbitraries.strings()
        .withChars("abc/.*\" \t<>0123456789")
        .ofMaxLength(20)
        .list()
        .ofMaxSize(8);
  }
}
