package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SudoersCommandTest {

  @Test
  void sudoers_namesOnlyTheWrapperPinnedByItsDigest() {
    Cli.Result wrapper = new Cli().run("sudoers", "--wrapper");
    Cli.Result entry = new Cli().env("USER", "alice").run("sudoers");

    assertEquals(0, entry.exit(), entry.err());
    String digest = SudoersCommand.sha256(wrapper.out());
    assertTrue(
        entry
            .out()
            .endsWith(
                "alice ALL=(root) NOPASSWD: sha256:"
                    + digest
                    + " /usr/local/libexec/egressctl-pfctl\n"),
        entry.out());
    long grants = entry.out().lines().filter(line -> !line.startsWith("#")).count();
    assertEquals(1, grants, "one grant line and comments only");
  }

  @Test
  void sudoers_underSudo_grantsTheInvokingUserNotRoot() {
    Cli.Result entry = new Cli().env("USER", "root").env("SUDO_USER", "bob").run("sudoers");

    assertTrue(entry.out().contains("\nbob ALL=(root) NOPASSWD: sha256:"), entry.out());
  }

  @Test
  void sudoers_wrapper_runsTheGivenPfctlForTheGivenAnchor() {
    Cli.Result result =
        new Cli()
            .run(
                "sudoers",
                "--wrapper",
                "--pfctl",
                "/usr/sbin/pfctl",
                "--anchor",
                "com.apple/nanoclaw");

    assertEquals(0, result.exit());
    assertTrue(result.out().startsWith("#!/bin/bash\n"), result.out());
    assertTrue(result.out().contains("readonly PFCTL='/usr/sbin/pfctl'\n"), result.out());
    assertTrue(result.out().contains("readonly PARENT='com\\.apple/nanoclaw'\n"), result.out());
  }

  @Test
  void sudoers_userNameThatCouldInjectSudoersSyntax_isRefusedWithExitOne() {
    Cli.Result result = new Cli().run("sudoers", "--user", "alice ALL=(ALL) ALL,");

    assertEquals(1, result.exit());
    assertEquals("", result.out());
    assertTrue(
        result
            .err()
            .startsWith(
                "egressctl: 'alice ALL=(ALL) ALL,' is not a user name sudoers can take safely"),
        result.err());
  }

  @Test
  void sudoers_relativeWrapperPath_isRefusedWithExitOne() {
    Cli.Result result =
        new Cli().env("USER", "alice").run("sudoers", "--wrapper-path", "bin/pfctl-wrapper");

    assertEquals(1, result.exit());
    assertTrue(
        result.err().startsWith("egressctl: the wrapper must be an absolute path"), result.err());
  }

  @Test
  void sudoers_withoutAnyUserName_asksForOne() {
    Cli.Result result = new Cli().run("sudoers");

    assertEquals(1, result.exit());
    assertEquals("egressctl: cannot tell the user name: pass --user NAME\n", result.err());
  }

  @Test
  void sudoers_unknownOption_isUsageErrorTwo() {
    Cli.Result result = new Cli().run("sudoers", "--all-of-pfctl");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("Unknown option: '--all-of-pfctl'"), result.err());
  }
}
