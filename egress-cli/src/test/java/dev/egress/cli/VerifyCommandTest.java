package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.container.FakeContainer;
import dev.egress.testkit.pf.FakePfctl;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code egressctl verify} against the fake {@code container} executable and FakePfctl's
 * executable: what a probe reaches is what the rules the command loaded into the fake pf decide
 * (FakePfctl's evaluator), and the held connection is a state of that pf, which detach must kill.
 */
class VerifyCommandTest {
  private static final String ALLOWED = "203.0.113.10";
  private static final String REFUSED = "198.51.100.20";
  private static final String IPV6 = "2001:db8::10";
  private static final String FOREIGN_DNS = "192.0.2.53";

  @TempDir Path dir;
  private Path pfctl;
  private Path pfState;
  private Path containerState;
  private Path container;

  @BeforeEach
  void fakes() throws IOException {
    pfctl = FakePfctl.installExecutable(dir);
    pfState = dir.resolve("pfctl.state");
    containerState = Files.createDirectories(dir.resolve("container-state"));
    container = FakeContainer.install(dir, containerState).resolve("container");
    FakeContainer.change(
        containerState,
        state -> {
          state.networks.put("egress", "192.168.70.0/24");
          state.networks6.put("egress", "fd00:70::/64");
          state.script.pfState = pfState.toString();
        });
  }

  private List<String> arguments(String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "verify",
                "--pfctl-command",
                pfctl.toString(),
                "--container-command",
                container.toString(),
                "--allow",
                ALLOWED + ":443",
                "--refuse",
                REFUSED + ":443",
                "--ipv6-target",
                IPV6,
                "--foreign-dns",
                FOREIGN_DNS,
                "--timeout",
                "5"));
    args.addAll(List.of(extra));
    return args;
  }

  private Cli.Result verify(String... extra) {
    return new Cli()
        .processes(new SystemProcessRunner())
        .run(arguments(extra).toArray(String[]::new));
  }

  private void script(Consumer<FakeContainer.Script> change) {
    FakeContainer.change(containerState, state -> change.accept(state.script));
  }

  private void pf(Consumer<FakePfctl> change) throws IOException {
    FakePfctl.withStateFile(
        pfState,
        fake -> {
          change.accept(fake);
          return null;
        });
  }

  /** Nothing of the run is left but pf enabled: no container, no rules, no state. */
  private void assertEverythingRemoved() throws IOException {
    assertEquals(
        List.of(),
        List.copyOf(FakeContainer.read(containerState).containers.keySet()),
        "containers");
    FakePfctl fake = FakePfctl.readFrom(pfState);
    fake.anchors().forEach((path, anchor) -> assertTrue(anchor.isEmpty(), path + ": " + anchor));
    // pf stays enabled by at most the reference the enforcer took: closing never switches it off.
    assertTrue(fake.tokens().size() <= 1, "enable references: " + fake.tokens());
    assertEquals(!fake.tokens().isEmpty(), fake.isEnabled());
    assertEquals(java.util.Set.of(), fake.connections(), "states");
    assertEquals(List.of(), fake.refusedCalls(), "calls a careful enforcer never makes");
  }

  private static void assertRow(
      String out, String probe, String expected, String observed, String verdict) {
    String row =
        out.lines()
            .filter(line -> line.startsWith(probe + " "))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no row " + probe + " in\n" + out));
    List<String> words = List.of(row.split("\\s{2,}"));
    assertTrue(
        words.contains(expected) && words.contains(observed) && words.contains(verdict),
        "row " + row + " should say " + expected + ", " + observed + ", " + verdict);
  }

  @Test
  void verify_whenPfEnforcesThePolicy_everyProbeMatches_andNothingIsLeft() throws IOException {
    Cli.Result result = verify();

    assertEquals(ExitCodes.OK, result.exit(), result.out() + result.err());
    assertRow(result.out(), "allowed", "through", "through", "match");
    assertRow(result.out(), "refused-port", "refused", "refused", "match");
    assertRow(result.out(), "refused-host", "refused", "refused", "match");
    assertRow(result.out(), "ipv6-allowed", "through", "through", "match");
    assertRow(result.out(), "ipv6-refused", "refused", "refused", "match");
    assertRow(result.out(), "gateway-service", "through", "through", "match");
    assertRow(result.out(), "gateway-other-port", "refused", "refused", "match");
    assertRow(result.out(), "dns-gateway", "through", "through", "match");
    assertRow(result.out(), "dns-foreign", "refused", "refused", "match");
    assertRow(result.out(), "forged-source", "refused", "refused", "match");
    assertRow(result.out(), "held-before-detach", "through", "through", "match");
    assertRow(result.out(), "held-after-detach", "refused", "refused", "match");
    assertTrue(result.out().contains("pfctl -a com.apple/000.egress/egress-verify-"), result.out());
    assertTrue(
        result
            .out()
            .contains("pass in quick inet proto tcp from 192.168.70.2 to <tcp_443> port = 443"),
        result.out());
    assertTrue(
        result.out().contains("block return in quick on ! lo0 inet from 192.168.70.0/24"),
        result.out());
    assertTrue(
        result.out().lines().anyMatch(l -> l.startsWith("egressctl verify: PASS 12/12 probes")),
        result.out());
    assertEverythingRemoved();
  }

  @Test
  void verify_whenPfWasEnabledByOthers_takesNoReference_andLeavesPfEnabled() throws IOException {
    pf(FakePfctl::enableByOthers);

    Cli.Result result = verify();

    assertEquals(ExitCodes.OK, result.exit(), result.out() + result.err());
    FakePfctl fake = FakePfctl.readFrom(pfState);
    assertTrue(fake.isEnabled());
    assertEquals(java.util.Set.of(), fake.tokens(), "enable references");
    assertTrue(
        fake.calls().stream().noneMatch(c -> c.line().equals("-E") || c.line().startsWith("-X")),
        fake.calls().toString());
  }

  @Test
  void verify_whenTheContainerCannotBeStopped_keepsTheParentSoThatItsGuardBlocksIt()
      throws IOException {
    script(s -> s.stopFails = true);

    Cli.Result result = verify();

    assertEquals(ExitCodes.CANNOT_ENFORCE, result.exit(), result.err());
    assertTrue(result.err().contains("kept, so that its guard blocks container"), result.err());
    FakePfctl fake = FakePfctl.readFrom(pfState);
    assertFalse(fake.anchor("com.apple/000.egress").orElseThrow().rules().isEmpty(), "guard");
    assertTrue(
        fake.calls().stream().noneMatch(c -> c.line().equals("-a com.apple/000.egress -F all")),
        fake.calls().toString());
  }

  @Test
  void verify_whenAnAllowedDestinationDoesNotAnswer_failsAndSaysTheRefusalsProveNothing()
      throws IOException {
    script(s -> s.unreachable.add(ALLOWED + ":443"));

    Cli.Result result = verify();

    assertEquals(ExitCodes.FINDINGS, result.exit(), result.out() + result.err());
    assertRow(result.out(), "allowed", "through", "refused", "mismatch");
    // Refused, as expected, but with a control that failed too: that proves nothing.
    assertRow(result.out(), "refused-port", "refused", "refused", "inconclusive");
    assertRow(result.out(), "refused-host", "refused", "refused", "inconclusive");
    assertTrue(
        result.out().contains("egressctl verify: FAIL 9/12 probes matched (allowed mismatch,"),
        result.out());
    assertEverythingRemoved();
  }

  @Test
  void verify_whenTheMainRulesetNoLongerEvaluatesTheAnchors_refusedProbesGetThrough()
      throws IOException {
    // Someone reloaded the main ruleset with a narrowed hook: pf evaluates none of our rules.
    pf(fake -> fake.narrowMainRulesetHook("anchor \"com.apple/*\" in on lo0 all"));

    Cli.Result result = verify();

    assertEquals(ExitCodes.FINDINGS, result.exit(), result.out() + result.err());
    assertRow(result.out(), "refused-port", "refused", "through", "mismatch");
    assertRow(result.out(), "refused-host", "refused", "through", "mismatch");
    assertRow(result.out(), "dns-foreign", "refused", "through", "mismatch");
    assertRow(result.out(), "held-after-detach", "refused", "through", "mismatch");
    assertEverythingRemoved();
  }

  @Test
  void verify_whenDetachKillsNoState_theHeldConnectionSurvivesAndIsReported() throws IOException {
    // Kills that report success and kill nothing, as pfctl -k in the wrong order does; without
    // the guard's block the surviving connection would also pass without state.
    pf(fake -> fake.killsMiss(100));

    Cli.Result result = verify();

    // The enforcer's detach reads the states back and fails; the table shows the survivor, and
    // the cleanup, which cannot kill it either, says what is left.
    assertEquals(ExitCodes.CANNOT_ENFORCE, result.exit(), result.out() + result.err());
    assertRow(result.out(), "held-after-detach", "refused", "through", "mismatch");
    assertTrue(result.out().contains("$ detach\nfailed: "), result.out());
    assertTrue(result.err().contains("could not remove everything"), result.err());
    assertEquals(List.of(), List.copyOf(FakeContainer.read(containerState).containers.keySet()));
  }

  @Test
  void verify_whenTheContainerCannotStart_saysSo_andLeavesNothing() throws IOException {
    script(s -> s.runFails = true);

    Cli.Result result = verify();

    assertEquals(ExitCodes.CANNOT_ENFORCE, result.exit(), result.err());
    assertTrue(result.err().contains("cannot start the container"), result.err());
    assertEverythingRemoved();
  }

  @Test
  void verify_whenAttachFails_stopsTheContainer_andLeavesNoAnchor() throws IOException {
    pf(fake -> fake.failOn("/egress-verify-", 0, 1, "pfctl: DIOCADDRULE: Invalid argument"));

    Cli.Result result = verify();

    assertEquals(ExitCodes.CANNOT_ENFORCE, result.exit(), result.err());
    assertTrue(result.err().contains("attach failed"), result.err());
    FakePfctl.withStateFile(pfState, fake -> fake.clearFaults());
    assertEverythingRemoved();
  }

  @Test
  void verify_whenTheImageLacksNc_isAnError_notARefusal_andLeavesNothing() throws IOException {
    script(s -> s.missingTools.add("nc"));

    Cli.Result result = verify();

    assertEquals(ExitCodes.CANNOT_ENFORCE, result.exit(), result.out() + result.err());
    assertTrue(result.err().contains("cannot run 'nc'"), result.err());
    assertEverythingRemoved();
  }

  @Test
  void verify_whenTheParentAnchorIsInUse_refusesBeforeChangingAnything() throws IOException {
    pf(
        fake ->
            fake.execute(
                List.of("pfctl", "-a", "com.apple/000.egress", "-f", "-"), "anchor \"*\"\n"));

    Cli.Result result = verify();

    assertEquals(ExitCodes.CANNOT_ENFORCE, result.exit(), result.err());
    assertTrue(result.err().contains("in use"), result.err());
    assertEquals(List.of(), FakeContainer.read(containerState).calls, "no container call");
  }

  @Test
  void verify_withAnUnknownProbeToSkip_isAUsageError_beforeAnyCall() {
    Cli.Result result = verify("--skip", "ipv6-allowed,ipv7");

    assertEquals(ExitCodes.USAGE, result.exit(), result.err());
    assertTrue(result.err().contains("--skip ipv7 is not a probe"), result.err());
    assertEquals(List.of(), FakeContainer.read(containerState).calls, "no container call");
  }

  @Test
  void verify_whenTheRefusedHostIsTheAllowedOne_isAUsageError_beforeAnyContainer()
      throws IOException {
    List<String> args = arguments();
    args.set(args.indexOf(REFUSED + ":443"), ALLOWED + ":8443");
    Cli.Result result =
        new Cli().processes(new SystemProcessRunner()).run(args.toArray(String[]::new));

    assertEquals(ExitCodes.USAGE, result.exit(), result.err());
    assertTrue(result.err().contains("is the allowed host"), result.err());
    assertEquals(List.of(), FakeContainer.read(containerState).calls, "no container call");
    assertEverythingRemoved();
  }

  @Test
  void verify_skippedProbes_areNamedInTheSummary_andDoNotFailTheRun() {
    Cli.Result result = verify("--skip", "forged-source,ipv6-allowed,ipv6-refused");

    assertEquals(ExitCodes.OK, result.exit(), result.out() + result.err());
    assertRow(result.out(), "forged-source", "-", "-", "skipped");
    assertTrue(
        result
            .out()
            .contains(
                "egressctl verify: PASS 9/9 probes matched; skipped"
                    + " ipv6-allowed,ipv6-refused,forged-source;"),
        result.out());
  }

  @Test
  void verify_whenTheImageCannotForgeItsSource_theForgedProbeProvesNothing() {
    script(s -> s.missingTools.add("ip"));

    Cli.Result result = verify();

    assertEquals(ExitCodes.FINDINGS, result.exit(), result.out() + result.err());
    assertRow(result.out(), "forged-source", "refused", "cannot run", "inconclusive");
  }

  @Test
  void verify_whenInterruptedMidway_removesEverything() throws Exception {
    // The DNS probe hangs: the command is past attach when Ctrl-C comes.
    script(
        s -> {
          s.execHangsOn = "nslookup";
          s.hangSeconds = 20;
        });
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Egressctl.class.getName()));
    command.addAll(arguments());
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(dir.resolve("out").toFile())
            .redirectError(dir.resolve("err").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (FakeContainer.read(containerState).calls.stream()
        .noneMatch(c -> c.contains("nslookup"))) {
      assertTrue(System.nanoTime() < deadline, "the probe never started");
      assertTrue(process.isAlive(), "verify ended early: " + Files.readString(dir.resolve("err")));
      Thread.sleep(100);
    }
    List<ProcessHandle> children = process.descendants().toList();

    new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor();

    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "verify did not end after Ctrl-C");
    children.forEach(ProcessHandle::destroyForcibly);
    String err = Files.readString(dir.resolve("err"), StandardCharsets.UTF_8);
    assertTrue(err.contains("verify interrupted; removed"), err);
    assertEverythingRemoved();
  }
}
