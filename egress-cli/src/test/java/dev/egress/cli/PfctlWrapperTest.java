package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.render.ParentAnchor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Runs the generated wrapper with bash against a recording stand-in for pfctl. */
class PfctlWrapperTest {
  private static final String CHILD = "com.apple/000.egress/agent-1";

  @TempDir Path dir;
  private Path wrapper;
  private Path calls;
  private Path tokens;

  private record Run(int exit, String stderr) {}

  @BeforeEach
  void writeScripts() throws IOException {
    calls = dir.resolve("calls");
    tokens = dir.resolve("state/pf-tokens");
    Path pfctl = dir.resolve("pfctl");
    Files.writeString(
        pfctl,
        """
        #!/bin/bash
        printf '%%s\n' "$*" >> '%s'
        if [ "$1" = -E ]; then echo 'No ALTQ support in kernel' >&2; echo 'Token : 4242' >&2; fi
        exit 0
        """
            .formatted(calls));
    Files.setPosixFilePermissions(pfctl, PosixFilePermissions.fromString("rwx------"));
    wrapper = dir.resolve("egressctl-pfctl");
    Files.writeString(
        wrapper,
        new PfctlWrapper(pfctl.toString(), ParentAnchor.defaults(), tokens.toString()).script());
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
  }

  private Run run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("bash", wrapper.toString()));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    process.getOutputStream().close();
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(10, TimeUnit.SECONDS));
    return new Run(process.exitValue(), stderr);
  }

  private List<String> recordedCalls() throws IOException {
    return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "-s info",
        "-s rules",
        "-a com.apple/000.egress -s rules",
        "-a com.apple/000.egress/agent-1 -s rules",
        "-a com.apple/000.egress -s Anchors",
        "-a com.apple/000.egress -f -",
        "-a com.apple/000.egress/agent-1 -f -",
        "-a com.apple/000.egress/agent-1 -F all",
        "-a com.apple/000.egress/agent-1 -t egress_api_anthropic -T show",
        "-a com.apple/000.egress/agent-1 -t egress_api_anthropic -T replace -f -",
        "-k 192.168.64.3",
        "-k 0.0.0.0/0 -k 192.168.64.3",
        "-k fd00:1:2::3",
        "-k ::/0 -k fd00:1:2::3"
      })
  void wrapper_passesTheDriversCallsThroughUnchanged(String line) throws Exception {
    Run run = run(line.split(" "));

    assertEquals(0, run.exit(), run.stderr());
    assertEquals(List.of(line), recordedCalls());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "-d",
        "-F all",
        "-F states",
        "-f /etc/pf.conf",
        "-f -",
        "-a com.apple/000.egress/agent-1 -F all -d",
        "-a com.apple/000.egress/agent-1 -f /etc/pf.conf",
        "-a com.apple/000.egress -F all",
        "-a com.apple -F all",
        "-a com.apple/* -F all",
        "-a com.apple/000.egress/agent-1/deeper -F all",
        "-a com.apple/other/agent-1 -f -",
        "-a com.apple/000.egress/.. -F all",
        "-a com.apple/000.egress/agent-1 -s rules -d",
        "-s info -d",
        "-s info -F all",
        "-E -d",
        "-k 0.0.0.0/0",
        "-k ::/0",
        "-k 0.0.0.0",
        "-k ::",
        "-k 10.0.0.0/8",
        "-k 0.0.0.0/0 -k 0.0.0.0/0",
        "-k 192.168.64.3 -k 0.0.0.0/0",
        "-k attacker.example",
        "-X 12 -d",
        "-X -1",
        "-e",
        "-a com.apple/000.egress/agent-1 -t x -T flush",
        "-a com.apple/000.egress/agent-1 -t x -T replace -f /etc/passwd",
      })
  void wrapper_refusesEverythingElseWithoutRunningPfctl(String line) throws Exception {
    Run run = run(line.split(" "));

    assertEquals(64, run.exit(), run.stderr());
    assertTrue(run.stderr().startsWith("egressctl-pfctl: refused: "), run.stderr());
    assertEquals(List.of(), recordedCalls());
  }

  @Test
  void wrapper_passesTheLongestChildPathsTheLibraryMakes_andRefusesLongerOnes() throws Exception {
    ParentAnchor parent = ParentAnchor.defaults();
    String dockerId = "8f14e45fceea167a5a36dedd4bea2543aa1f3c3b1e5c1f0e3f2b9a1c4d5e6f70";
    String longest = parent.childPath(parent.childName(ContainerId.of(dockerId))).value();
    assertEquals(63, longest.length());

    Run load = run("-a", longest, "-f", "-");
    Run tooLong = run("-a", longest + "0", "-f", "-");

    assertEquals(0, load.exit(), load.stderr());
    assertEquals(64, tooLong.exit(), "pfctl could not load it, so the wrapper never passes it");
    assertEquals(List.of("-a " + longest + " -f -"), recordedCalls());
  }

  @Test
  void wrapper_refusesArgumentsThatHideSpacesOrNewlines() throws Exception {
    for (String[] args :
        List.of(
            new String[] {"-a", CHILD + " -F all", "-s", "rules"},
            new String[] {"-a", CHILD, "-F", "all\n-d"},
            new String[] {"-s", "info "},
            new String[] {"-a", CHILD, "-t", "x", "-T", "show", ""},
            new String[] {})) {
      Run run = run(args);

      assertEquals(64, run.exit(), String.join("|", args) + ": " + run.stderr());
    }
    assertEquals(List.of(), recordedCalls());
  }

  @Test
  void wrapper_releasesOnlyTokensItTook() throws Exception {
    Run foreign = run("-X", "1111");
    assertEquals(64, foreign.exit());
    assertTrue(
        foreign.stderr().contains("token 1111 was not taken through this wrapper"),
        foreign.stderr());

    Run enable = run("-E");
    assertEquals(0, enable.exit());
    assertTrue(
        enable.stderr().contains("Token : 4242"), "the driver reads the token from the output");
    assertEquals(List.of("4242"), Files.readAllLines(tokens));

    Run release = run("-X", "4242");
    assertEquals(0, release.exit(), release.stderr());
    assertEquals(List.of("-E", "-X 4242"), recordedCalls());
    assertFalse(Files.readAllLines(tokens).contains("4242"));

    Run again = run("-X", "4242");
    assertEquals(64, again.exit(), "a released token cannot be released twice");
  }

  @Test
  void wrapper_refusesParentAnchorThatIsNotBelowAnother() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () ->
                new PfctlWrapper(
                    "/sbin/pfctl",
                    new ParentAnchor(AnchorPath.of("egress"), null, false),
                    "/var/db/t"));
    assertTrue(e.getMessage().contains("is not an anchor path below another"), e.getMessage());
  }

  @Test
  void wrapper_refusesPfctlPathWithShellCharacters() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () ->
                new PfctlWrapper("/sbin/pfctl'; rm -rf /'", ParentAnchor.defaults(), "/var/db/t"));
    assertTrue(e.getMessage().startsWith("the pfctl must be an absolute path"), e.getMessage());
  }
}
