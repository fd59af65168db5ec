package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The nft driver against fake {@code nft} and {@code conntrack} executables (shell scripts). */
@EnabledOnOs({OS.LINUX, OS.MAC})
class NftCommandTest {
  @TempDir Path dir;

  private Path fake(String name, String body) throws IOException {
    Path script = dir.resolve(name);
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  private NftCommand command(Path nft, Duration timeout) throws IOException {
    return new NftCommand(
        new SystemProcessRunner(), List.of(nft.toString()), List.of(nft.toString()), timeout);
  }

  private NftException failureOf(String stderr) throws IOException {
    Path nft = fake("nft", "cat > /dev/null; echo '" + stderr + "' >&2; exit 1");
    return assertThrows(
        NftException.class,
        () -> command(nft, Duration.ofSeconds(5)).apply("add table inet egress\n"));
  }

  @Test
  void apply_hasNftReadTheWholeScriptFromAPrivateFileOnItsStandardInput() throws Exception {
    Path seen = dir.resolve("seen");
    // What nft finds when it starts: its arguments, what its standard input is (a regular file of
    // the script's length and mode 0600, written whole before nft started, not a pipe a dying
    // launcher could cut short), and what it reads there.
    Path nft =
        fake(
            "nft",
            "echo \"$*\" > "
                + seen
                + ".args; stat -L -c '%F %s %a' /dev/stdin > "
                + seen
                + ".stdin; cat > "
                + seen);
    String script = "add table inet egress\n" + "add chain inet egress c\n".repeat(20_000);

    command(nft, Duration.ofSeconds(10)).apply(script);

    assertEquals(script, Files.readString(seen));
    assertEquals("-f -\n", Files.readString(Path.of(seen + ".args")));
    assertEquals(
        "regular file " + script.length() + " 600\n", Files.readString(Path.of(seen + ".stdin")));
  }

  @Test
  void apply_whenNotRoot_isClassifiedAsPermissionDenied_withAHint() throws Exception {
    NftException e = failureOf("Error: Could not process rule: Operation not permitted");
    assertEquals(NftException.Kind.PERMISSION_DENIED, e.kind());
    assertTrue(e.hint().contains("CAP_NET_ADMIN"), e.hint());
  }

  @Test
  void apply_whenAnObjectIsMissing_isClassifiedAsMissingObject() throws Exception {
    assertEquals(
        NftException.Kind.MISSING_OBJECT,
        failureOf("Error: Could not process rule: No such file or directory").kind());
  }

  @Test
  void apply_whenAnElementIsTaken_isClassifiedAsConflict() throws Exception {
    assertEquals(
        NftException.Kind.CONFLICT, failureOf("Error: Could not process rule: File exists").kind());
  }

  @Test
  void apply_whenTheKernelLacksNfTables_isClassifiedAsKernelUnsupported() throws Exception {
    assertEquals(
        NftException.Kind.KERNEL_UNSUPPORTED,
        failureOf("Error: Could not process rule: Protocol not supported").kind());
  }

  @Test
  void apply_withASyntaxError_isClassifiedAsSyntax_andQuotesTheScript() throws Exception {
    NftException e = failureOf("/dev/stdin:1:16-16: Error: syntax error, unexpected newline");
    assertEquals(NftException.Kind.SYNTAX, e.kind());
    assertTrue(e.getMessage().contains("add table inet egress"), e.getMessage());
  }

  @Test
  void apply_withAnUnknownError_isOther_andCarriesNftsMessage() throws Exception {
    NftException e = failureOf("Error: something new");
    assertEquals(NftException.Kind.OTHER, e.kind());
    assertTrue(e.getMessage().contains("something new"), e.getMessage());
  }

  @Test
  void apply_whenNftIsNotInstalled_isClassifiedAsNotInstalled() {
    NftCommand missing =
        new NftCommand(
            new SystemProcessRunner(),
            List.of(dir.resolve("no-such-nft").toString()),
            List.of("conntrack"),
            Duration.ofSeconds(5));
    NftException e = assertThrows(NftException.class, () -> missing.apply("x\n"));
    assertEquals(NftException.Kind.NOT_INSTALLED, e.kind());
    assertTrue(e.hint().contains("apt-get install nftables"), e.hint());
  }

  @Test
  void apply_thatHangs_isKilledAtTheTimeout() throws Exception {
    Path pid = dir.resolve("pid");
    Path nft = fake("nft", "echo $$ > " + pid + "; exec sleep 30");
    long start = System.nanoTime();
    NftException e =
        assertThrows(
            NftException.class,
            () -> command(nft, Duration.ofMillis(500)).apply("add table inet egress\n"));
    assertEquals(NftException.Kind.TIMEOUT, e.kind());
    assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos());
    long child = Long.parseLong(Files.readString(pid).strip());
    assertFalse(
        ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false),
        "the hung nft must be killed");
  }

  @Test
  void apply_runsThroughTheInjectedRunner_withTheScriptAsStandardInputAndTheTimeout()
      throws Exception {
    List<Command> seen = new ArrayList<>();
    NftCommand command =
        new NftCommand(
            run -> {
              seen.add(run);
              return new ProcessResult(0, "", "");
            },
            List.of("sudo", "-n", "/usr/sbin/nft"),
            List.of("conntrack"),
            Duration.ofSeconds(3));

    command.apply("add table inet egress\n");

    assertEquals(List.of("sudo", "-n", "/usr/sbin/nft", "-f", "-"), seen.get(0).argv());
    assertEquals("add table inet egress\n", seen.get(0).stdin());
    assertEquals(Duration.ofSeconds(3), seen.get(0).timeout());
  }

  @Test
  void list_whenTheRunnerDroppedPartOfTheListing_failsInsteadOfReturningAHead() {
    NftCommand command =
        new NftCommand(
            run -> new ProcessResult(0, "table inet egress {\n", "", 70_000, 0),
            List.of("nft"),
            List.of("conntrack"),
            Duration.ofSeconds(3));

    NftException e =
        assertThrows(NftException.class, () -> command.list("table", "inet", "egress"));

    assertEquals(NftException.Kind.OTHER, e.kind());
    assertTrue(e.getMessage().contains("70000 bytes dropped"), e.getMessage());
  }

  @Test
  void list_withMegabytesOnBothStreams_doesNotDeadlock() throws Exception {
    Path nft =
        fake(
            "nft",
            "head -c 2000000 /dev/zero | tr '\\0' a >&2; head -c 2000000 /dev/zero"
                + " | tr '\\0' b; exit 0");
    String out = command(nft, Duration.ofSeconds(20)).list("table", "inet", "egress");
    assertEquals(2_000_000, out.length());
  }

  @Test
  void deleteConnections_findingNone_isNoError() throws Exception {
    Path conntrack =
        fake(
            "conntrack",
            "echo 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.' >&2; exit 1");
    command(conntrack, Duration.ofSeconds(5))
        .deleteConnectionsOf(List.of(IpAddresses.parse("10.0.0.2")));
  }

  @Test
  void deleteConnections_isOneConntrackBatch_cuttingBothDirectionsAndPublishedPorts_perFamily()
      throws Exception {
    Path seen = dir.resolve("args");
    Path conntrack = fake("conntrack", "echo \"$*\" >> " + seen + "; cat >> " + seen);
    NftCommand command = command(conntrack, Duration.ofSeconds(5));

    command.deleteConnectionsOf(
        List.of(IpAddresses.parse("10.0.0.2"), IpAddresses.parse("fd00::2")));

    assertEquals(
        "-R -\n-D -f ipv4 -s 10.0.0.2\n-D -f ipv4 -d 10.0.0.2\n-D -f ipv4 -r 10.0.0.2\n"
            + "-D -f ipv6 -s fd00::2\n-D -f ipv6 -d fd00::2\n-D -f ipv6 -r fd00::2\n",
        Files.readString(seen));
  }

  @Test
  void deleteConnections_ofNoAddress_runsNothing() throws Exception {
    Path ran = dir.resolve("ran");
    command(fake("conntrack", "touch " + ran), Duration.ofSeconds(5))
        .deleteConnectionsOf(List.of());
    assertFalse(Files.exists(ran));
  }

  @Test
  void deleteConnections_withAConntrackThatHasNoBatchMode_runsEachDeletion_andStopsTryingIt()
      throws Exception {
    Path seen = dir.resolve("args");
    // conntrack 1.4.5: getopt refuses -R.
    Path conntrack =
        fake(
            "conntrack",
            "echo \"$@\" >> "
                + seen
                + "; if [ \"$1\" = -R ]; then echo \"conntrack: invalid option -- 'R'\" >&2;"
                + " exit 2; fi");
    NftCommand command = command(conntrack, Duration.ofSeconds(5));

    command.deleteConnectionsOf(List.of(IpAddresses.parse("10.0.0.2")));
    command.deleteConnectionsOf(List.of(IpAddresses.parse("10.0.0.3")));

    List<String> calls = Files.readAllLines(seen);
    assertTrue(calls.get(0).startsWith("-R "), calls.toString());
    assertEquals(
        List.of(
            "-D -f ipv4 -s 10.0.0.2",
            "-D -f ipv4 -d 10.0.0.2",
            "-D -f ipv4 -r 10.0.0.2",
            "-D -f ipv4 -s 10.0.0.3",
            "-D -f ipv4 -d 10.0.0.3",
            "-D -f ipv4 -r 10.0.0.3"),
        calls.subList(1, calls.size()));
  }

  @Test
  void deleteConnections_thatReallyFails_throws() throws Exception {
    Path conntrack =
        fake(
            "conntrack",
            "echo 'conntrack v1.4.7 (conntrack-tools): Operation not permitted' >&2; exit 1");
    NftException e =
        assertThrows(
            NftException.class,
            () ->
                command(conntrack, Duration.ofSeconds(5))
                    .deleteConnectionsOf(List.of(IpAddresses.parse("10.0.0.2"))));
    assertEquals(NftException.Kind.PERMISSION_DENIED, e.kind());
  }

  @Test
  void deleteConnections_withMoreOutputThanTheRunnerKeeps_isStillSuccess() throws Exception {
    // conntrack -R prints each entry it deletes; nothing reads that output.
    NftCommand command =
        new NftCommand(
            run -> new ProcessResult(0, "tcp 6 ...\n", "", 70_000_000, 0),
            List.of("nft"),
            List.of("conntrack"),
            Duration.ofSeconds(3));
    command.deleteConnectionsOf(List.of(IpAddresses.parse("10.0.0.2")));
  }
}
