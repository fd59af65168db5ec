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
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exchanges with small shell scripts that stand for a program answering line by line. Each script
 * writes its pid (and those of what it starts) to a file, so that a test sees that a failure killed
 * the whole tree. Bounds on durations are generous: the failures they catch (an exchange that waits
 * for a 300 s sleep) are orders of magnitude apart from a slow machine.
 */
@EnabledOnOs({OS.LINUX, OS.MAC})
class InteractiveProcessTest {
  private static final Duration LONG = Duration.ofSeconds(30);
  private static final Predicate<List<String>> DONE =
      lines -> !lines.isEmpty() && lines.get(lines.size() - 1).equals("done");

  @TempDir Path dir;
  private WrittenPids written;
  private InteractiveProcess process;

  @BeforeEach
  void pidFile() {
    written = new WrittenPids(dir.resolve("pids"));
  }

  @AfterEach
  void killLeftovers() {
    if (process != null) {
      process.close();
    }
    written.killAll();
  }

  /** Starts {@code sh -c BODY} after it wrote its pid. */
  private InteractiveProcess start(String body) throws Exception {
    Path script = dir.resolve("script");
    Files.writeString(script, "echo $$ >> " + written.file() + "\n" + body + "\n");
    process = InteractiveProcess.start(List.of("sh", script.toString()), Map.of());
    return process;
  }

  /** Answers each line with {@code got LINE} on standard output, {@code done} on standard error. */
  private static final String ECHO = "while read -r l; do echo \"got $l\"; echo done >&2; done";

  @Test
  void exchange_writesTheText_andReturnsTheLinesUntilAnswered_bothStreamsInOrder()
      throws Exception {
    InteractiveProcess echo = start(ECHO);

    assertEquals(List.of("got a", "done"), echo.exchange("a\n", DONE, LONG));
    assertEquals(List.of("got b c", "done"), echo.exchange("b c\n", DONE, LONG));
    assertTrue(echo.isOpen());
  }

  @Test
  void exchange_ofShortTexts_writesThemOnTheCallingThread_andALongOneOnTheWriterThread()
      throws Exception {
    InteractiveProcess echo = start(ECHO);
    String writer = "session-" + echo.pid() + "-in";

    for (int i = 0; i < 20; i++) {
      echo.exchange("x".repeat(InteractiveProcess.PIPE_BUF - 1) + "\n", DONE, LONG);
    }
    assertFalse(threadNamed(writer), "a short text waited for no other thread");

    String longLine = "y".repeat(InteractiveProcess.PIPE_BUF);
    assertEquals(List.of("got " + longLine, "done"), echo.exchange(longLine + "\n", DONE, LONG));
    assertTrue(threadNamed(writer), "a text longer than PIPE_BUF went through the writer");
  }

  @Test
  void exchange_afterAnAnswerThatWasNotWhole_writesTheNextShortTextOnTheWriterThread()
      throws Exception {
    InteractiveProcess echo = start(ECHO);
    String writer = "session-" + echo.pid() + "-in";

    // A test that fails: nothing says the program read the text, so the pipe may not be empty.
    assertThrows(
        IllegalStateException.class,
        () ->
            echo.exchange(
                "a\n",
                lines -> {
                  throw new IllegalStateException("the caller's test failed");
                },
                LONG));
    assertEquals(
        List.of("got a", "done", "got b", "done"),
        echo.exchange("b\n", lines -> lines.size() == 4, LONG),
        "the first answer comes first");

    assertTrue(threadNamed(writer), "a text after an unknown state went through the writer");
  }

  private static boolean threadNamed(String name) {
    return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name));
  }

  @Test
  void exchange_givesTheLinesUpToItsAnswer_andLeavesTheLaterOnesForTheNextExchange()
      throws Exception {
    InteractiveProcess chatty =
        start("while read -r l; do echo \"got $l\"; echo done; echo \"after $l\"; done");

    assertEquals(List.of("got a", "done"), chatty.exchange("a\n", DONE, LONG));
    assertEquals(
        List.of("after a", "got b", "done"),
        chatty.exchange("b\n", DONE, LONG),
        "the line printed after the first answer comes first");
  }

  @Test
  void exchange_whenMoreLinesWaitThanItsAnswerNeeds_takesTheShortestAnswer() throws Exception {
    InteractiveProcess chatty = start("echo a; echo done; echo b; " + ECHO);
    Thread.sleep(500); // the three lines are read before the exchange (or, if late, as it waits)

    assertEquals(List.of("a", "done"), chatty.exchange("x\n", DONE, LONG));
    assertEquals(List.of("b", "got x", "done"), chatty.exchange("y\n", DONE, LONG).subList(0, 3));
  }

  @Test
  void exchange_whoseTestHoldsForNoLines_returnsAtOnce_andTheLinesStayForTheNext()
      throws Exception {
    InteractiveProcess echo = start(ECHO);

    assertEquals(List.of(), echo.exchange("a\n", lines -> true, LONG));
    assertEquals(List.of("got a", "done"), echo.exchange("b\n", DONE, LONG));
  }

  @Test
  void exchange_whenTheCallersTestThrowsAnErrorOnALaterLine_throwsIt() throws Exception {
    InteractiveProcess echo = start(ECHO);

    assertThrows(
        AssertionError.class,
        () ->
            echo.exchange(
                "a\n",
                lines -> {
                  if (!lines.isEmpty()) {
                    throw new AssertionError("the test broke on " + lines);
                  }
                  return false;
                },
                LONG));
  }

  @Test
  void exchange_whenTheCallersTestFailsOnALaterLine_throwsWhatItThrew() throws Exception {
    InteractiveProcess echo = start(ECHO);

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                echo.exchange(
                    "a\n",
                    lines -> {
                      if (!lines.isEmpty()) {
                        throw new IllegalStateException("the test failed on " + lines);
                      }
                      return false;
                    },
                    LONG));

    assertTrue(e.getMessage().contains("got a"), e.getMessage());
  }

  @Test
  void exchange_whenTheAnswerSpansTwoLinesOfInput_waitsForTheWholeAnswer() throws Exception {
    InteractiveProcess echo = start(ECHO);

    assertEquals(
        List.of("got a", "done", "got b", "done"),
        echo.exchange("a\nb\n", lines -> lines.size() == 4, LONG));
  }

  @Test
  void start_setsTheGivenEnvironmentVariables() throws Exception {
    Path script = dir.resolve("env");
    Files.writeString(script, "read -r l; echo \"$HOME $l\"\n");
    process = InteractiveProcess.start(List.of("sh", script.toString()), Map.of("HOME", "/x"));

    assertEquals(List.of("/x a"), process.exchange("a\n", lines -> lines.size() == 1, LONG));
  }

  @Test
  void exchange_givesLinesPrintedUnaskedFirst() throws Exception {
    InteractiveProcess chatty = start("echo hello; " + ECHO);

    assertEquals(List.of("hello", "got a", "done"), chatty.exchange("a\n", DONE, LONG));
  }

  @Test
  void exchange_whenNoAnswerComesInTime_killsTheProgramAndWhatItStarted_andClosesTheProcess()
      throws Exception {
    InteractiveProcess silent = start("sleep 300 & echo $! >> " + written.file() + "; wait");
    List<Long> pids = written.await(2);

    ProcessTimeoutException e =
        assertThrows(
            ProcessTimeoutException.class,
            () -> silent.exchange("a\n", DONE, Duration.ofMillis(300)));

    WrittenPids.assertAllGone(pids);
    assertTrue(e.survivors().isEmpty(), e.getMessage());
    assertFalse(silent.isOpen());
    ProcessException later =
        assertThrows(ProcessException.class, () -> silent.exchange("b\n", DONE, LONG));
    assertTrue(later.getMessage().contains("was closed"), later.getMessage());
  }

  @Test
  void exchange_whenTheProgramNeverReadsALargeText_endsAtTheTimeout() throws Exception {
    InteractiveProcess deaf = start("sleep 300");
    List<Long> pids = written.await(1);

    long started = System.nanoTime();
    assertThrows(
        ProcessTimeoutException.class,
        () -> deaf.exchange("x".repeat(1 << 20) + "\n", DONE, Duration.ofMillis(300)));

    assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(LONG) < 0);
    WrittenPids.assertAllGone(pids);
  }

  @Test
  void exchange_whenTheProgramExitsBeforeAnswering_failsWithWhatItPrinted() throws Exception {
    InteractiveProcess quitter = start("read -r l; echo \"bye $l\"; exit 3");

    ProcessException e =
        assertThrows(ProcessException.class, () -> quitter.exchange("a\n", DONE, LONG));

    assertTrue(e.getMessage().contains("closed its output before it answered"), e.getMessage());
    assertTrue(e.getMessage().contains("bye a"), e.getMessage());
    assertFalse(quitter.isOpen());
  }

  @Test
  void exchange_whenTheProgramHasExited_failsWithoutWaitingForTheTimeout() throws Exception {
    InteractiveProcess gone = start("exit 0");
    written.await(1);

    long started = System.nanoTime();
    assertThrows(ProcessException.class, () -> gone.exchange("a\n", DONE, Duration.ofSeconds(300)));

    assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(LONG) < 0);
  }

  @Test
  void exchange_whenALineIsLongerThanTheLimit_killsTheProgram() throws Exception {
    InteractiveProcess loud =
        start(
            "read -r l; head -c "
                + (InteractiveProcess.LINE_LIMIT + 10)
                + " /dev/zero | tr '\\0' x; sleep 300");
    List<Long> pids = written.await(1);

    ProcessException e =
        assertThrows(ProcessException.class, () -> loud.exchange("a\n", DONE, LONG));

    assertTrue(e.getMessage().contains("printed a line longer than"), e.getMessage());
    WrittenPids.assertAllGone(pids);
  }

  @Test
  void close_killsTheProgramAndWhatItStarted_andFailsARunningExchange() throws Exception {
    InteractiveProcess silent = start("sleep 300 & echo $! >> " + written.file() + "; wait");
    List<Long> pids = written.await(2);
    CompletableFuture<List<String>> exchange =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return silent.exchange("a\n", DONE, Duration.ofSeconds(300));
              } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(200); // the exchange waits for its answer (or, if late, finds the process closed)

    silent.close();

    ExecutionException e = assertThrows(ExecutionException.class, exchange::get);
    assertTrue(e.getCause().getCause() instanceof ProcessException, e.toString());
    WrittenPids.assertAllGone(pids);
    assertFalse(silent.isOpen());
  }

  @Test
  void exchange_whenInterrupted_killsTheProgram() throws Exception {
    InteractiveProcess silent = start("sleep 300 & echo $! >> " + written.file() + "; wait");
    List<Long> pids = written.await(2);
    Thread.currentThread().interrupt();

    assertThrows(
        InterruptedException.class, () -> silent.exchange("a\n", DONE, Duration.ofSeconds(300)));

    assertFalse(Thread.currentThread().isInterrupted(), "the exception says it");
    WrittenPids.assertAllGone(pids);
  }

  @Test
  void exchange_whenInterruptedWhileWaitingForTheAnswer_killsTheProgramAtOnce() throws Exception {
    InteractiveProcess silent = start("sleep 300 & echo $! >> " + written.file() + "; wait");
    List<Long> pids = written.await(2);
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    Thread caller =
        new Thread(
            () -> {
              try {
                silent.exchange("a\n", DONE, Duration.ofSeconds(300));
                failure.complete(null);
              } catch (Throwable e) {
                failure.complete(e);
              }
            });
    caller.start();
    Thread.sleep(200); // the exchange waits for its answer (or, if late, sees the interrupt first)

    caller.interrupt();

    Throwable e = failure.get(30, TimeUnit.SECONDS);
    assertTrue(e instanceof InterruptedException, String.valueOf(e));
    WrittenPids.assertAllGone(pids);
    assertFalse(silent.isOpen());
  }

  @Test
  void start_ofAMissingProgram_throwsProcessStartException() {
    Path missing = dir.resolve("no-such-program");

    ProcessStartException e =
        assertThrows(
            ProcessStartException.class,
            () -> InteractiveProcess.start(List.of(missing.toString()), Map.of()));

    assertTrue(e.getMessage().contains("could not be started"), e.getMessage());
  }

  @Test
  void exchange_whenTheProgramExitsWhileAProcessItStartedHoldsItsOutput_failsWithoutTheTimeout()
      throws Exception {
    // The pause before the exit puts the reader back in its read, where it never sees the end (the
    // sleep holds the pipe); between reads, the JDK would take what the pipe holds and close it.
    InteractiveProcess quitter =
        start(
            "read -r l; echo \"bye $l\"; sleep 300 & echo $! >> "
                + written.file()
                + "; sleep 0.3; exit 0");

    long started = System.nanoTime();
    ProcessException e =
        assertThrows(ProcessException.class, () -> quitter.exchange("a\n", DONE, LONG));

    assertFalse(e instanceof ProcessTimeoutException, e.getMessage());
    assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(5)) < 0);
    assertTrue(e.getMessage().contains("exited with 0 and its output did not end"), e.getMessage());
    assertTrue(e.getMessage().contains("bye a"), e.getMessage());
    assertFalse(quitter.isOpen());
    List<Long> pids = written.await(2);
    assertFalse(WrittenPids.gone(pids.get(1)), "the sleep was gone, so nothing held the output");
  }
}
