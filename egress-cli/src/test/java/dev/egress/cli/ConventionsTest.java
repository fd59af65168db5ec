package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What every command shares: help, usage errors, verbosity, colour. */
class ConventionsTest {
  private static final String ESC = "\u001b[";

  @TempDir Path dir;

  static List<String> commands() {
    return List.copyOf(Egressctl.commandLine(new Cli().host()).getSubcommands().keySet());
  }

  @ParameterizedTest
  @MethodSource("commands")
  void everyCommand_hasHelp_exitingZero(String command) {
    Cli.Result result = new Cli().run(command, "--help");

    assertEquals(0, result.exit());
    assertTrue(result.out().contains("Usage: egressctl " + command), result.out());
  }

  @Test
  void noCommand_isUsageErrorTwo() {
    Cli.Result result = new Cli().run();

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("a command is required\nUsage: egressctl"), result.err());
  }

  @Test
  void unknownCommand_isUsageErrorTwo() {
    Cli.Result result = new Cli().run("attach");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("Unmatched argument at index 0: 'attach'"), result.err());
  }

  @Test
  void topLevelHelp_listsExitCodes() {
    Cli.Result result = new Cli().run("--help");

    assertEquals(0, result.exit());
    assertTrue(
        result.out().contains("3   the host cannot enforce, or a privileged call failed"),
        result.out());
  }

  @Test
  void quietAndVerboseTogether_isUsageErrorTwo() throws IOException {
    Path file = Files.writeString(dir.resolve("p.policy"), "dns none\n");

    Cli.Result result = new Cli().run("check", "-q", "-v", "--policy", file.toString());

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("-q and -v exclude each other: pick one\n"), result.err());
  }

  @Test
  void colour_onTerminal() throws IOException {
    Path file = Files.writeString(dir.resolve("p.policy"), "dns none\n");

    Cli.Result result = new Cli().terminal(true).run("check", "--policy", file.toString());

    assertTrue(result.out().contains(ESC + "32mok" + ESC + "0m"), result.out());
  }

  @Test
  void colour_neverWhenNotATerminal() throws IOException {
    Path file = Files.writeString(dir.resolve("p.policy"), "dns none\n");

    Cli.Result result = new Cli().terminal(false).run("check", "--policy", file.toString());

    assertFalse(result.out().contains(ESC), result.out());
  }

  @Test
  void colour_neverWithNoColorSet_evenOnTerminal() throws IOException {
    Path file = Files.writeString(dir.resolve("p.policy"), "dns none\n");

    Cli.Result result =
        new Cli().terminal(true).env("NO_COLOR", "1").run("check", "--policy", file.toString());
    Cli.Result help = new Cli().terminal(true).env("NO_COLOR", "1").run("check", "--help");

    assertFalse(result.out().contains(ESC), result.out());
    assertFalse(help.out().contains(ESC), help.out());
  }
}
