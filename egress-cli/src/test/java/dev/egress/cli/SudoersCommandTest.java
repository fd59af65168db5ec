package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SudoersCommandTest {
  private static final Path VISUDO = Path.of("/usr/sbin/visudo");

  @TempDir Path dir;

  private static Cli.Result sudoers(Cli cli, String... args) {
    List<String> all = new ArrayList<>(List.of("sudoers", "--network", "192.168.64.0/24"));
    all.addAll(List.of(args));
    return cli.run(all.toArray(String[]::new));
  }

  @Test
  void sudoers_namesOnlyTheWrapperPinnedByItsDigest() {
    Cli.Result wrapper = sudoers(new Cli(), "--wrapper");
    Cli.Result entry = sudoers(new Cli(), "--user", "alice");

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
    assertTrue(
        entry.out().contains("#   egressctl sudoers --wrapper --network 192.168.64.0/24 >"),
        "the install commands repeat the options that make the same wrapper: " + entry.out());
  }

  @Test
  void sudoers_entry_isAcceptedByVisudo() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(VISUDO), "visudo is not installed");
    Path entry =
        Files.writeString(
            dir.resolve("egressctl.sudoers"), sudoers(new Cli(), "--user", "alice").out());

    Process visudo = new ProcessBuilder(VISUDO.toString(), "-c", "-f", entry.toString()).start();
    String output = new String(visudo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(visudo.waitFor(30, TimeUnit.SECONDS));

    assertEquals(0, visudo.exitValue(), output);
  }

  /** Issue 18, S3: the environment never chooses the user. */
  @Test
  void sudoers_withoutUser_refusesEvenWhenTheEnvironmentNamesOne() {
    for (String variable : List.of("USER", "SUDO_USER")) {
      Cli.Result result = sudoers(new Cli().env(variable, "ALL"));

      assertEquals(1, result.exit());
      assertEquals("", result.out());
      assertTrue(result.err().startsWith("egressctl: pass --user NAME"), result.err());
    }
  }

  /** Issue 18, S3: names sudoers reads as ALL, an alias, a group, a uid or a netgroup. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "ALL",
        "ADMINS",
        "A",
        "WHEEL_2",
        "%admin",
        "%ALL",
        "#0",
        "+netgroup",
        "alice ALL=(ALL) ALL,",
        "alice,bob",
        "!alice",
        ""
      })
  void sudoers_userThatSudoersWouldNotReadAsOneUser_isRefusedWithExitOne(String user) {
    Cli.Result result = sudoers(new Cli(), "--user", user);

    assertEquals(1, result.exit());
    assertEquals("", result.out());
    assertTrue(result.err().contains("is not a user name sudoers can take safely"), result.err());
  }

  @Test
  void sudoers_acceptsOrdinaryNamesThatHoldCapitals() {
    for (String user : List.of("Alice", "_agent", "svc.nanoclaw", "build-1", "aBC")) {
      Cli.Result result = sudoers(new Cli(), "--user", user);

      assertEquals(0, result.exit(), user + ": " + result.err());
    }
  }

  @Test
  void sudoers_wrapper_runsTheGivenPfctlForTheGivenAnchorAndNetworks() {
    Cli.Result result =
        sudoers(
            new Cli(),
            "--wrapper",
            "--network",
            "fd00:64::/64",
            "--bridge",
            "bridge100",
            "--pfctl",
            "/usr/sbin/pfctl",
            "--anchor",
            "com.apple/nanoclaw");

    assertEquals(0, result.exit(), result.err());
    assertTrue(result.out().startsWith("#!/bin/bash\n"), result.out());
    assertTrue(result.out().contains("readonly PFCTL='/usr/sbin/pfctl'\n"), result.out());
    assertTrue(result.out().contains("readonly PARENT='com\\.apple/nanoclaw'\n"), result.out());
    assertTrue(
        result.out().contains("readonly MANAGED='192.168.64.0/24 fd00:64::/64'\n"), result.out());
    assertTrue(result.out().contains("readonly BRIDGES='bridge100'\n"), result.out());
  }

  @Test
  void sudoers_dnsFilter_isTheOnlyRedirectTargetTheWrapperTakes_andTheEntrySaysHowToRegenerate() {
    Cli.Result without = sudoers(new Cli(), "--wrapper");
    Cli.Result wrapper = sudoers(new Cli(), "--wrapper", "--dns-filter", "192.168.64.1");
    Cli.Result entry = sudoers(new Cli(), "--user", "alice", "--dns-filter", "192.168.64.1");

    assertEquals(0, wrapper.exit(), wrapper.err());
    assertTrue(without.out().contains("readonly DNS_FILTER=''\n"), without.out());
    assertTrue(wrapper.out().contains("readonly DNS_FILTER='192.168.64.1'\n"), wrapper.out());
    assertTrue(
        entry
            .out()
            .contains("sudoers --wrapper --network 192.168.64.0/24 --dns-filter 192.168.64.1 >"),
        entry.out());
    assertTrue(entry.out().contains("sha256:" + SudoersCommand.sha256(wrapper.out())), entry.out());
    for (String bad : List.of("0.0.0.0", "224.0.0.1", "resolver.local", "192.168.64.0/24")) {
      Cli.Result refused = sudoers(new Cli(), "--wrapper", "--dns-filter", bad);
      assertEquals(1, refused.exit(), bad + ": " + refused.out());
    }
  }

  @Test
  void sudoers_withoutNetwork_isUsageErrorTwo() {
    Cli.Result result = new Cli().run("sudoers", "--wrapper");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("Missing required option: '--network=CIDR'"), result.err());
  }

  @Test
  void sudoers_invalidNetworkBridgeOrAnchor_isRefusedWithExitOne() {
    for (List<String> args :
        List.of(
            List.of("--network", "0.0.0.0/0"),
            List.of("--network", "::/0"),
            List.of("--network", "10.0.0.1/8"),
            List.of("--bridge", "en0 all"),
            List.of("--anchor", "com.apple"),
            List.of("--anchor", "egress"))) {
      List<String> all = new ArrayList<>(List.of("--wrapper"));
      all.addAll(args);
      Cli.Result result = sudoers(new Cli(), all.toArray(String[]::new));

      assertEquals(1, result.exit(), args + ": " + result.err());
      assertEquals("", result.out());
    }
  }

  @Test
  void sudoers_stateDirectoryOthersCanChange_isRefusedWithExitOne() throws Exception {
    Path open = Files.createDirectory(dir.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path linked = Files.createSymbolicLink(dir.resolve("link"), dir);

    for (Path state : List.of(open, open.resolve("state"), linked)) {
      Cli.Result result = sudoers(new Cli(), "--wrapper", "--state-dir", state.toString());

      assertEquals(1, result.exit(), state + ": " + result.err());
      assertTrue(result.err().contains("must be one only root can change"), result.err());
    }
  }

  @Test
  void sudoers_relativeWrapperPath_isRefusedWithExitOne() {
    Cli.Result result =
        sudoers(new Cli(), "--user", "alice", "--wrapper-path", "bin/pfctl-wrapper");

    assertEquals(1, result.exit());
    assertTrue(
        result.err().startsWith("egressctl: the wrapper must be an absolute path"), result.err());
  }

  @Test
  void sudoers_unknownOption_isUsageErrorTwo() {
    Cli.Result result = sudoers(new Cli(), "--all-of-pfctl");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("Unknown option: '--all-of-pfctl'"), result.err());
  }
}
