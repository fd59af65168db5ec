package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.nftables.FakeNftSession.Mode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The grant session against a fake {@code nft -i} ({@link FakeNftSession}): what it sends, what it
 * takes for success, and that every other answer fails the grant and discards the process (the
 * kernel suite shows the same on real nft).
 */
@EnabledOnOs({OS.LINUX, OS.MAC})
class NftSessionTest {
  private static final Duration LONG = Duration.ofSeconds(30);
  private static final String GRANT =
      "add element inet egress s { 192.0.2.1 timeout 60000ms }\n"
          + "delete element inet egress s { 192.0.2.1 }\n"
          + "add element inet egress s { 192.0.2.1 timeout 60000ms }\n";
  private static final String LINE =
      "add element inet egress s { 192.0.2.1 timeout 60000ms };"
          + " delete element inet egress s { 192.0.2.1 };"
          + " add element inet egress s { 192.0.2.1 timeout 60000ms }";

  @TempDir Path dir;
  private FakeNftSession nft;
  private NftSession session;

  @BeforeEach
  void fake() throws Exception {
    nft = new FakeNftSession(dir);
    session = new NftSession(nft.command(), LONG);
  }

  @AfterEach
  void killLeftovers() throws Exception {
    session.close();
    nft.killAll();
  }

  @Test
  void apply_sendsTheScriptAsOneLineAndAMarker_toOneProcess_startedInteractiveWithoutEchoNorHome()
      throws Exception {
    session.apply(GRANT);
    session.apply(GRANT);

    assertEquals("HOME=/nonexistent -i", nft.args());
    assertEquals(List.of(LINE, ":egress-done 1", LINE, ":egress-done 2"), nft.log());
    assertEquals(1, nft.pids().size(), "one process for both grants");
  }

  @Test
  void apply_onAnInterruptedThread_failsWithoutStartingNft_andKeepsTheInterrupt() throws Exception {
    Thread.currentThread().interrupt();

    NftException e = assertThrows(NftException.class, () -> session.apply(GRANT));

    assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
    assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
    assertEquals(0, nft.pids().size(), "no nft was started");
    session.apply(GRANT); // an uninterrupted grant goes through
    assertEquals(List.of(LINE, ":egress-done 1"), nft.log());
  }

  @Test
  void apply_whenNftRefusesTheGrant_failsClassified_andTheNextGrantStartsANewProcess()
      throws Exception {
    session.apply(GRANT);
    nft.mode(Mode.REFUSE);

    NftException e = assertThrows(NftException.class, () -> session.apply(GRANT));

    assertEquals(NftException.Kind.MISSING_OBJECT, e.kind());
    assertTrue(e.getMessage().contains("refused the grant"), e.getMessage());
    assertTrue(nft.allGone(), "the refusing process was killed");
    nft.mode(Mode.COMMIT);
    session.apply(GRANT);
    assertEquals(2, nft.pids().size(), "a new process");
  }

  @Test
  void apply_whenNftAnswersWithSomethingElse_fails_andDiscardsTheProcess() throws Exception {
    nft.mode(Mode.GARBAGE);

    NftException e = assertThrows(NftException.class, () -> session.apply(GRANT));

    assertEquals(NftException.Kind.OTHER, e.kind());
    assertTrue(e.getMessage().contains("something else"), e.getMessage());
    assertTrue(nft.allGone());
  }

  @Test
  void apply_whenNftDoesNotAnswerInTime_failsAsATimeout_andKillsTheProcessTree() throws Exception {
    NftSession impatient = new NftSession(nft.command(), Duration.ofMillis(500));
    nft.mode(Mode.HANG);

    NftException e = assertThrows(NftException.class, () -> impatient.apply(GRANT));

    assertEquals(NftException.Kind.TIMEOUT, e.kind());
    assertEquals(2, nft.pids().size(), "the fake and its sleep");
    assertTrue(nft.allGone(), "the fake and its sleep were killed");
  }

  @Test
  void apply_whenNftExits_fails_andTheNextGrantStartsANewProcess() throws Exception {
    nft.mode(Mode.EXIT);

    NftException e = assertThrows(NftException.class, () -> session.apply(GRANT));

    assertEquals(NftException.Kind.OTHER, e.kind());
    assertTrue(e.getMessage().contains("closed its output"), e.getMessage());
    nft.mode(Mode.COMMIT);
    session.apply(GRANT);
    assertEquals(2, nft.pids().size());
  }

  @Test
  void apply_whenNftCannotBeStarted_failsAsNotInstalled() {
    NftSession missing = new NftSession(List.of(dir.resolve("no-nft").toString()), LONG);

    NftException e = assertThrows(NftException.class, () -> missing.apply(GRANT));

    assertEquals(NftException.Kind.NOT_INSTALLED, e.kind());
  }

  @Test
  void apply_ofACommandThatWouldChangeHowNftReadsTheLine_sendsNothing() throws Exception {
    for (String unsafe :
        List.of(
            "add element inet egress s { 192.0.2.1 } # comment",
            "add element inet egress s { 192.0.2.1 }; flush ruleset",
            "add element inet egress s { 192.0.2.1 } \\",
            "add element inet egress s { 192.0.2.1 }\r")) {
      NftException e = assertThrows(NftException.class, () -> session.apply(unsafe + "\n"));

      assertTrue(e.getMessage().contains("would change how nft -i reads"), e.getMessage());
    }
    assertEquals(List.of(), nft.log());
  }

  @Test
  void close_killsTheProcess_andALaterGrantIsRefused_withoutStartingOne() throws Exception {
    session.apply(GRANT);

    session.close();

    assertTrue(nft.allGone());
    NftException refused = assertThrows(NftException.class, () -> session.apply(GRANT));
    assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
    assertEquals(1, nft.pids().size(), "no process started after close");
  }

  @Test
  void apply_replacesTheProcessAfterItsGrants() throws Exception {
    NftSession recycled = new NftSession(nft.command(), LONG, 2);
    try {
      for (int i = 0; i < 5; i++) {
        recycled.apply(GRANT);
      }
    } finally {
      recycled.close();
    }

    assertEquals(3, nft.pids().size(), "2 + 2 + 1 grants");
  }

  @Test
  void apply_fromManyThreads_sendsEachGrantWholeWithItsMarker() throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(8);
    List<Future<?>> grants = new ArrayList<>();
    try {
      for (int i = 0; i < 40; i++) {
        String address = "192.0.2." + (i + 1);
        grants.add(
            threads.submit(
                () -> {
                  session.apply("add element inet egress s { " + address + " timeout 5000ms }\n");
                  return null;
                }));
      }
      for (Future<?> grant : grants) {
        grant.get();
      }
    } finally {
      threads.shutdownNow();
    }

    List<String> log = nft.log();
    assertEquals(80, log.size());
    for (int i = 0; i < log.size(); i += 2) {
      assertTrue(log.get(i).startsWith("add element"), log.get(i));
      assertEquals(":egress-done " + (i / 2 + 1), log.get(i + 1));
    }
  }
}
