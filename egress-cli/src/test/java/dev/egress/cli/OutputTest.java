package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputTest {
  private static List<String> diagnostic(String text) {
    StringWriter err = new StringWriter();
    Output.diagnostic(new PrintWriter(err), text);
    return err.toString().lines().toList();
  }

  @Test
  void diagnostic_escapesEachLine_andKeepsLineBreaksAsLines() {
    assertEquals(
        List.of("egressctl: pfctl failed: a\\u202Eb", "\\u001B[2Jsecond"),
        diagnostic("egressctl: pfctl failed: a\u202Eb\n\u001b[2Jsecond"));
  }

  @Test
  void diagnostic_printsAtMostTheLineLimit_andSaysHowManyMore() {
    List<String> lines = diagnostic("x\n".repeat(Output.MAX_DIAGNOSTIC_LINES + 50));

    assertEquals(Output.MAX_DIAGNOSTIC_LINES + 1, lines.size());
    assertEquals("... (50 more lines)", lines.get(Output.MAX_DIAGNOSTIC_LINES));
  }

  @Test
  void diagnostic_ofAnEmptyText_isAnEmptyLine() {
    assertEquals(List.of(""), diagnostic(""));
  }
}
