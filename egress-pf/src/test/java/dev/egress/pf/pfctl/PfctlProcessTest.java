package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real ProcessBuilder path, end to end, against the fake pfctl as a program. */
class PfctlProcessTest {
  private static final String CHILD_PATH = "com.apple/000.egress/c1";
  private static final AnchorPath CHILD = AnchorPath.of(CHILD_PATH);
  @TempDir Path dir;
  private Path state;
  private Pfctl pfctl;

  @BeforeEach
  void install() throws Exception {
    Path executable = FakePfctl.installExecutable(dir);
    state = dir.resolve("pfctl.state");
    pfctl =
        new Pfctl(
            new SystemProcessRunner(), List.of(executable.toString()), Duration.ofSeconds(30));
  }

  /**
   * No such process, or a zombie: the child the fake waited in is orphaned when the fake dies, and
   * stays a zombie until init reaps it (on some machines a second later); ProcessHandle still
   * reports it alive, though it runs nothing.
   */
  private static boolean gone(long pid) throws Exception {
    Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    if (process.isEmpty()) {
      return true;
    }
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (java.io.IOException e) {
      return !process.get().isAlive();
    }
  }

  private void given(FakePfctl fake) throws Exception {
    fake.writeTo(state);
  }

  @Test
  void loadAnchor_withNoiseOnStderrAndExitZero_succeeds() throws Exception {
    pfctl.loadAnchor(
        CHILD, "table <t> persist { 203.0.113.7 }\nblock in quick from 192.168.64.3 to any\n");
    FakePfctl after = FakePfctl.readFrom(state);
    assertEquals(
        List.of("block in quick from 192.168.64.3 to any"),
        after.anchor(CHILD_PATH).orElseThrow().rules());
    assertEquals(List.of("-a", CHILD_PATH, "-f", "-"), after.calls().get(0).args());
    assertEquals(List.of(), after.refusedCalls());
  }

  @Test
  void enable_throughTheProgram_keepsTheTokenAcrossInvocations() throws Exception {
    long token = pfctl.enable();
    assertTrue(pfctl.isEnabled());
    assertEquals(Set.of(token), FakePfctl.readFrom(state).tokens());
  }

  @Test
  void eachErrorClass_becomesItsExceptionWithItsHint() throws Exception {
    given(
        new FakePfctl()
            .failOn("-s info", 1, 1, "sudo: a password is required")
            .failOn("-F all", 1, 1, "pfctl: /dev/pf: Permission denied")
            .failOn("-T replace", 1, 1, "pfctl: DIOCXCOMMIT: Device busy"));
    SudoPasswordRequiredException sudo =
        assertThrows(SudoPasswordRequiredException.class, pfctl::isEnabled);
    assertTrue(sudo.hint().contains("NOPASSWD: " + dir.resolve("pfctl")), sudo.hint());
    PfPermissionDeniedException denied =
        assertThrows(PfPermissionDeniedException.class, () -> pfctl.flushAnchor(CHILD));
    assertTrue(denied.getMessage().contains("/dev/pf"), denied.getMessage());
    assertThrows(
        PfBusyException.class, () -> pfctl.replaceTable(CHILD, new TableName("t"), List.of()));
    PfSyntaxException syntax =
        assertThrows(
            PfSyntaxException.class,
            () ->
                pfctl.loadAnchor(
                    CHILD, "block in quick all\npass in quick to ! { 1.2.3.4, 5.6.7.8 \n"));
    assertEquals(2, syntax.line());
    assertTrue(
        syntax.getMessage().contains("pass in quick to ! { 1.2.3.4, 5.6.7.8"), syntax.getMessage());
    assertTrue(FakePfctl.readFrom(state).anchor(CHILD_PATH).isEmpty(), "nothing was loaded");
  }

  @Test
  void hang_isKilledAtTheTimeout_andLeavesNoProcessBehind() throws Exception {
    given(new FakePfctl().hangOn("-f -", 1, Duration.ofMinutes(5)));
    Pfctl impatient =
        new Pfctl(
            new SystemProcessRunner(),
            List.of(dir.resolve("pfctl").toString()),
            Duration.ofSeconds(6));
    assertThrows(
        PfctlTimeoutException.class, () -> impatient.loadAnchor(CHILD, "block in quick all\n"));

    List<String> pids = Files.readAllLines(dir.resolve("pfctl.pids"));
    assertEquals(2, pids.size(), "the fake and the child it waited in: " + pids);
    for (String pid : pids) {
      assertTrue(gone(Long.parseLong(pid.strip())), "process " + pid + " survived the timeout");
    }
    assertTrue(
        FakePfctl.readFrom(state).anchor(CHILD_PATH).isEmpty(), "the hung load took no effect");
  }
}
