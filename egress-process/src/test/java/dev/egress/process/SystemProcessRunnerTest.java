package dev.egress.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The system runner against small shell scripts in the test's temporary directory. Each script
 * records the pids it starts in a file, so that a test can check with {@link ProcessHandle} that
 * nothing of it survived. Bounds on durations are generous: the failures they catch (a call that
 * blocks until a 300 s sleep ends) are orders of magnitude apart from a slow machine.
 */
@EnabledOnOs({OS.LINUX, OS.MAC})
class SystemProcessRunnerTest {
  private static final Duration NEVER = Duration.ofSeconds(300);

  private final SystemProcessRunner runner = new SystemProcessRunner();
  @TempDir Path dir;
  private WrittenPids written;

  @BeforeEach
  void pidFile() {
    written = new WrittenPids(dir.resolve("pids"));
  }

  /** Whatever a failing test left running does not outlive it. */
  @AfterEach
  void killLeftovers() {
    written.killAll();
  }

  private Path script(String name, String body) throws IOException {
    Path script = dir.resolve(name);
    Files.writeString(script, body + "\n");
    return script;
  }

  private static Duration timed(Runnable call) {
    long start = System.nanoTime();
    call.run();
    return Duration.ofNanos(System.nanoTime() - start);
  }

  @Test
  void run_writesStdin_andReportsTheExitStatusAndBothStreams() throws Exception {
    ProcessResult result =
        runner.run(
            new Command(
                List.of("sh", "-c", "cat; echo oops >&2; exit 3"),
                "rules\n",
                Duration.ofSeconds(30)));

    assertEquals(new ProcessResult(3, "rules\n", "oops\n", 0, 0), result);
    assertFalse(result.succeeded());
    assertEquals("exited with 3: oops", result.summary());
  }

  /**
   * Issue 17, finding 1: a caller killed while its program runs must not leave the program reading
   * a prefix of its input (pfctl and nft commit what they read at end of file). Through a pipe the
   * program would get the 64 KiB the pipe held; from the runner's input file it gets all of it.
   */
  @Test
  void run_whenTheCallerIsKilledWhileTheProgramRuns_theProgramStillReadsItsWholeInput()
      throws Exception {
    int bytes = 1 << 20;
    Path started = dir.resolve("started");
    Path counted = dir.resolve("counted");
    Path load =
        script(
            "load",
            "echo $$ > "
                + written.file()
                + "; touch "
                + started
                + "; sleep 2; wc -c > "
                + counted
                + ".tmp; mv "
                + counted
                + ".tmp "
                + counted);
    Process caller =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                RunAndWait.class.getName(),
                Integer.toString(bytes),
                load.toString())
            .inheritIO()
            .start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!Files.exists(started) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertTrue(Files.exists(started), "the program did not start");

    caller.destroyForcibly().waitFor();
    written.await(1);
    while (!Files.exists(counted) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }

    assertEquals(Integer.toString(bytes), Files.readString(counted).strip());
  }

  @Test
  void run_whenTheCommandFillsBothPipesBeforeReadingStdin_doesNotDeadlock() throws Exception {
    String body =
        "head -c 300000 /dev/zero | tr '\\0' e >&2; head -c 300000 /dev/zero | tr '\\0' o; wc -c";
    ProcessResult result =
        new SystemProcessRunner(1 << 20, 1 << 20)
            .run(
                new Command(
                    List.of("sh", script("chatty", body).toString()),
                    "x".repeat(200_000),
                    Duration.ofSeconds(60)));

    assertEquals(300_000, result.stderr().length());
    assertEquals("200000", result.stdout().substring(300_000).strip());
  }

  @Test
  void run_keepsABoundedHeadOfEachStream_andCountsWhatItDropped() throws Exception {
    SystemProcessRunner small = new SystemProcessRunner(1000, 100);
    String body =
        "head -c 1000000 /dev/zero | tr '\\0' o; head -c 2000000 /dev/zero | tr '\\0' e >&2;"
            + " exit 4";
    ProcessResult result =
        small.run(
            new Command(List.of("sh", script("loud", body).toString()), Duration.ofSeconds(60)));

    assertEquals(4, result.exitCode());
    assertEquals("o".repeat(1000), result.stdout());
    assertEquals(999_000, result.droppedStdoutBytes());
    assertFalse(result.stdoutComplete());
    assertEquals("e".repeat(100), result.stderr());
    assertEquals(1_999_900, result.droppedStderrBytes());
  }

  @Test
  void run_whenTheProgramStallsBeforeReadingALargeInput_returnsAtTheTimeout() throws Exception {
    // Like sudo waiting in PAM: the input (200 KiB) is larger than a pipe holds (64 KiB).
    Path stalled = script("stalled", "echo $$ > " + written.file() + "; exec sleep 300");
    Command command =
        new Command(
            List.of("sh", stalled.toString()), "r".repeat(200 * 1024), Duration.ofSeconds(1));

    AtomicReference<ProcessTimeoutException> thrown = new AtomicReference<>();
    Duration took =
        timed(
            () ->
                thrown.set(assertThrows(ProcessTimeoutException.class, () -> runner.run(command))));

    assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "returned after " + took);
    assertEquals(List.of(), thrown.get().survivors());
    assertEquals(Duration.ofSeconds(1), thrown.get().timeout());
    assertTrue(
        thrown.get().getMessage().contains("did not finish within 1000 ms"),
        thrown.get().getMessage());
    WrittenPids.assertAllGone(written.await(1));
  }

  @Test
  void run_whenAChildAndItsGrandchildIgnoreSigterm_killsBothBeforeThrowing() throws Exception {
    Path tree = termIgnoringTree(false);

    ProcessTimeoutException e =
        assertThrows(
            ProcessTimeoutException.class,
            () -> runner.run(new Command(List.of("sh", tree.toString()), Duration.ofMillis(1500))));

    assertEquals(List.of(), e.survivors(), e.getMessage());
    WrittenPids.assertAllGone(written.await(2));
  }

  @Test
  void run_atTheTimeout_givesTheProgramNoChanceToFinishItsWork() throws Exception {
    // Like a tool that commits what it has read when asked to stop: a SIGTERM handler that acts.
    Path committed = dir.resolve("committed");
    Path graceful =
        script(
            "graceful",
            "trap 'echo late > "
                + committed
                + "; exit 0' TERM\n"
                + "echo $$ > "
                + written.file()
                + "\n"
                + "sleep 300 &\n"
                + "wait");

    assertThrows(
        ProcessTimeoutException.class,
        () -> runner.run(new Command(List.of("sh", graceful.toString()), Duration.ofSeconds(1))));

    WrittenPids.assertAllGone(written.await(1));
    assertFalse(Files.exists(committed), "the program acted after it was reported stopped");
  }

  @Test
  void run_throughSudo_whenTheCommandAndItsChildIgnoreSigterm_leavesNoProcessBehind()
      throws Exception {
    requireSudo();
    // The script runs as root under sudo and records sudo's pid too (a sudo that uses a pty puts
    // a monitor process in between, which is sudo's child and dies with it).
    Path slow = termIgnoringTree(true);

    ProcessTimeoutException e =
        assertThrows(
            ProcessTimeoutException.class,
            () ->
                runner.run(
                    new Command(
                        List.of("sudo", "-n", "sh", slow.toString()), Duration.ofMillis(1500))));

    assertEquals(List.of(), e.survivors(), e.getMessage());
    WrittenPids.assertAllGone(written.await(3));
  }

  /**
   * A script that ignores SIGTERM and starts a grandchild that ignores it too (the disposition is
   * inherited), then records both pids, and first its parent's ({@code $PPID}) if asked, and waits.
   */
  private Path termIgnoringTree(boolean recordParent) throws IOException {
    String pids = written.file().toString();
    return script(
        "tree",
        "trap '' TERM\n"
            + (recordParent ? "echo $PPID >> " + pids + "\n" : "")
            + "sh -c 'echo $$ >> \"$1\"; exec sleep 300' grandchild "
            + pids
            + " &\n"
            + "until [ -s "
            + pids
            + " ] && [ $(wc -l < "
            + pids
            + ") -ge "
            + (recordParent ? 2 : 1)
            + " ]; do sleep 0.01; done\n"
            + "echo $$ >> "
            + pids
            + "\n"
            + "wait");
  }

  /** sudo must be there and let this user run commands without a password (root may). */
  private static void requireSudo() throws Exception {
    String reason;
    try {
      ProcessResult check =
          new SystemProcessRunner()
              .run(new Command(List.of("sudo", "-n", "true"), Duration.ofSeconds(30)));
      reason = check.succeeded() ? null : "sudo -n true " + check.summary();
    } catch (ProcessStartException e) {
      reason =
          "sudo is not installed (Debian: apt-get install sudo; scripts/install-linux-packages)";
    }
    if (reason != null) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail("CI=true and the sudo test cannot run here: " + reason);
      }
      Assumptions.abort(reason);
    }
  }

  @Test
  void run_whenTheCallerIsInterrupted_killsTheTree_thenThrowsInterruptedException()
      throws Exception {
    Path hang = script("hang", "echo $$ > " + written.file() + "; exec sleep 300");
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread caller =
        new Thread(
            () -> {
              try {
                runner.run(new Command(List.of("sh", hang.toString()), NEVER));
              } catch (Throwable t) {
                thrown.set(t);
              }
            });
    caller.start();
    List<Long> pids = written.await(1);

    caller.interrupt();
    caller.join(Duration.ofSeconds(30).toMillis());

    assertFalse(caller.isAlive(), "the call did not end when interrupted");
    assertTrue(thrown.get() instanceof InterruptedException, String.valueOf(thrown.get()));
    WrittenPids.assertAllGone(pids);
  }

  @Test
  void run_whenABackgroundProcessHoldsTheOutputOpen_givesUpAtTheTimeout_andSaysWhy()
      throws Exception {
    // The pause lets the runner's threads begin to read: a program that exits before that has its
    // pipes closed by the JDK, and the call returns without waiting for the background process.
    Path leaky = script("leaky", "sleep 300 & echo $! > " + written.file() + "; sleep 0.3; exit 0");

    ProcessTimeoutException e =
        assertThrows(
            ProcessTimeoutException.class,
            () -> runner.run(new Command(List.of("sh", leaky.toString()), Duration.ofSeconds(1))));

    assertTrue(
        e.getMessage().contains("exited with 0, but its output was still open"), e.getMessage());
    assertTrue(e.getMessage().contains("was not killed"), e.getMessage());
    written.await(1); // killed by killLeftovers: the runner cannot find it
  }

  @Test
  void run_whenTheProgramDoesNotExist_throwsAStartException_thatSaysWhatToDo() {
    String missing = dir.resolve("no-such-program").toString();

    ProcessStartException e =
        assertThrows(
            ProcessStartException.class,
            () -> runner.run(new Command(List.of(missing, "-x"), Duration.ofSeconds(5))));

    assertTrue(
        e.getMessage().startsWith("'" + missing + " -x' could not be started"), e.getMessage());
    assertTrue(e.getMessage().contains("is installed and executable"), e.getMessage());
    assertEquals(missing + " -x", e.command());
  }

  @Test
  void run_whenABareProgramIsNotOnThePath_namesThePath() {
    ProcessStartException e =
        assertThrows(
            ProcessStartException.class,
            () ->
                runner.run(new Command(List.of("egress-no-such-program"), Duration.ofSeconds(5))));

    assertTrue(e.getMessage().contains("on the PATH ("), e.getMessage());
  }

  @Test
  void run_showsTheCommandAsTheCallerAsks_inItsExceptions() throws Exception {
    Path hang = script("secret", "exec sleep 300");
    Command command =
        new Command(
            List.of("sh", hang.toString(), "--env", "TOKEN=hunter2"),
            "",
            Duration.ofMillis(300),
            "sh secret --env TOKEN=…");

    ProcessTimeoutException e =
        assertThrows(ProcessTimeoutException.class, () -> runner.run(command));

    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    assertEquals("sh secret --env TOKEN=…", e.command());
  }
}
