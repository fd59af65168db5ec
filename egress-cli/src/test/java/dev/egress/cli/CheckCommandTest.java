package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class CheckCommandTest {
  @TempDir Path dir;

  private Path policy(String text) throws IOException {
    return Files.writeString(dir.resolve("agent.policy"), text, StandardCharsets.UTF_8);
  }

  @Test
  void check_validPolicy_exitsZeroAndSummarises() throws IOException {
    Path file =
        policy(
            "allow api.anthropic.com port 443\nallow gateway port 3001\ndns gateway\nlog denied\n");

    Cli.Result result = new Cli().run("check", "--policy", file.toString());

    assertEquals(0, result.exit());
    assertEquals(file + ": ok (2 allow rules, dns gateway, denials logged)\n", result.out());
    assertEquals("", result.err());
  }

  @Test
  void check_quiet_printsNothingOnSuccess() throws IOException {
    Path file = policy("allow 10.1.2.3 port 5432\ndns none\n");

    Cli.Result result = new Cli().run("check", "-q", "--policy", file.toString());

    assertEquals(0, result.exit());
    assertEquals("", result.out());
    assertEquals("", result.err());
  }

  @Test
  void check_verbose_printsCanonicalPolicyOnStderr() throws IOException {
    Path file = policy("dns none\nallow 10.1.2.3 port 5433\nallow 10.1.2.3 port 5432\n");

    Cli.Result result = new Cli().run("check", "-v", "--policy", file.toString());

    assertEquals(0, result.exit());
    assertEquals("allow 10.1.2.3 port 5432-5433 proto tcp\ndns none\n", result.err());
  }

  @Test
  void check_syntaxErrors_printsEachAsFileLineColumnAndExitsOne() throws IOException {
    Path file = policy("allow api.anthropic.com prot 443\ndns gateway\nlog everything\n");

    Cli.Result result = new Cli().run("check", "--policy", file.toString());

    assertEquals(1, result.exit());
    assertEquals("", result.out());
    assertEquals(
        file
            + ":1:25: expected 'port' after the destination, found 'prot'\n"
            + file
            + ":3:5: expected 'denied' after 'log', found 'everything'\n",
        result.err());
  }

  @Test
  void check_syntaxErrors_areReportedEvenWhenQuiet() throws IOException {
    Path file = policy("allow nowhere\n");

    Cli.Result result = new Cli().run("check", "-q", "--policy", file.toString());

    assertEquals(1, result.exit());
    assertEquals(
        file + ":1:14: expected 'port' after the destination, found end of line\n", result.err());
  }

  @Test
  void check_missingFile_saysSoAndExitsOne() {
    Path file = dir.resolve("absent.policy");

    Cli.Result result = new Cli().run("check", "--policy", file.toString());

    assertEquals(1, result.exit());
    assertEquals("egressctl: cannot read policy file " + file + ": no such file\n", result.err());
  }

  @Test
  void check_directoryInsteadOfFile_exitsOne() {
    Cli.Result result = new Cli().run("check", "--policy", dir.toString());

    assertEquals(1, result.exit());
    assertEquals(
        "egressctl: cannot read policy file " + dir + ": a directory, not a policy file\n",
        result.err());
  }

  @Test
  @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void check_fifo_isRefusedAtOnce_andExitsOne() throws Exception {
    Path fifo = dir.resolve("agent.policy");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo");

    Cli.Result result = new Cli().run("check", "--policy", fifo.toString());

    assertEquals(1, result.exit());
    assertEquals(
        "egressctl: cannot read policy file "
            + fifo
            + ": not a regular file (a FIFO, device or socket): a policy file must be one\n",
        result.err());
  }

  @Test
  @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void check_devZero_isRefusedAtOnce_andExitsOne() {
    Cli.Result result = new Cli().run("check", "--policy", "/dev/zero");

    assertEquals(1, result.exit());
    assertTrue(
        result.err().startsWith("egressctl: cannot read policy file /dev/zero: not a regular file"),
        result.err());
  }

  @Test
  void check_oversizedFile_isRefusedBeforeReading_andExitsOne() throws IOException {
    Path big = dir.resolve("big.policy");
    try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw")) {
      file.setLength(25L << 20);
    }

    Cli.Result result = new Cli().run("check", "--policy", big.toString());

    assertEquals(1, result.exit());
    assertEquals(
        "egressctl: cannot read policy file "
            + big
            + ": 26214400 bytes: a policy file may hold at most 1048576 bytes\n",
        result.err());
  }

  @Test
  void check_hostileTextAndFileName_areEscapedOnTheTerminal() throws IOException {
    Path file =
        Files.writeString(
            dir.resolve("a\u001b[2Jb.policy"),
            "\u0301allow example.com port 443\nallow ex\u202Eample.com port 443\n");

    Cli.Result result = new Cli().run("check", "--policy", file.toString());

    assertEquals(1, result.exit());
    String name = dir + "/a\\u001B[2Jb.policy";
    assertEquals(
        name
            + ":1:1: expected 'allow', 'dns' or 'log', found '\\u0301allow'\n"
            + name
            + ":2:9: unexpected character U+202E (RIGHT-TO-LEFT OVERRIDE): policy files hold"
            + " printable text only\n",
        result.err());
  }

  @Test
  void unknownOption_withControlCharacters_isEscapedOnTheTerminal() {
    Cli.Result result = new Cli().run("check", "--policy", "p", "--\u202Ex\u001b[2J");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("Unknown option: '--\\u202Ex\\u001B[2J'"), result.err());
    assertFalse(result.err().contains("\u202E") || result.err().contains("\u001b"), result.err());
  }

  @Test
  void check_notUtf8_saysSoAndExitsOne() throws IOException {
    Path file =
        Files.write(
            dir.resolve("latin1.policy"), new byte[] {'a', 'l', 'l', 'o', 'w', ' ', (byte) 0xE9});

    Cli.Result result = new Cli().run("check", "--policy", file.toString());

    assertEquals(1, result.exit());
    assertEquals("egressctl: cannot read policy file " + file + ": not UTF-8 text\n", result.err());
  }

  @Test
  void check_unsafeAnyAddress_warnsButExitsZero() throws IOException {
    Path file = policy("allow unsafe-any-address port 443\n");

    Cli.Result result = new Cli().run("check", "--policy", file.toString());

    assertEquals(0, result.exit());
    assertEquals(
        file
            + ": warning: 'allow unsafe-any-address port 443 proto tcp' turns egress control off for those ports\n",
        result.err());
  }

  @Test
  void check_withoutPolicyOption_isUsageErrorTwo() {
    Cli.Result result = new Cli().run("check");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("Missing required option: '--policy=FILE'\n"), result.err());
    assertTrue(result.err().contains("Usage: egressctl check"), result.err());
  }

  @Test
  void check_help_exitsZeroAndDescribesTheCommand() {
    Cli.Result result = new Cli().run("check", "--help");

    assertEquals(0, result.exit());
    assertTrue(result.out().contains("Validate a policy file."), result.out());
    assertTrue(result.out().contains("--policy=FILE"), result.out());
  }
}
