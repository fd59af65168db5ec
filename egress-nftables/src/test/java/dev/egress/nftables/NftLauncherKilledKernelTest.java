package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.RuleSetName;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.LabRequirement;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A launcher process ({@link ChildLauncherMain}) attaches one container, updates it to a policy of
 * 3,000 destinations and back, and detaches it, in a loop, and is killed with SIGKILL at a random
 * point of one of those operations: 26 runs with the guard and 26 without. After each kill, once
 * any nft it left running has exited, the container's rule set must be whole, and be the one before
 * the operation under way or the one after it (never a prefix, never a mix); probes from the
 * container must show exactly that rule set's verdicts; the base chains must be as loaded. Then a
 * new enforcer's reconcile (and an attach of the policy the launcher meant, if the container runs)
 * must leave exactly the intended rule set.
 *
 * <p>Each kill is aimed at an operation of the cycle (in turn) at a uniformly random moment within
 * its usual duration (measured as the test goes), so that most land while a load is under way.
 */
class NftLauncherKilledKernelTest {
  private static final int RUNS_PER_SETTING = 26;
  private static final String TMPDIR = "-Djava.io.tmpdir=";
  private static final int FILLER_DESTINATIONS = 3000;

  private static NetnsLab lab;
  private static Path directory;

  /** What the container's rule set is: none, policy A's, or policy B's. */
  enum State {
    NONE,
    A,
    B
  }

  /** One step of the launcher's cycle, and the state it leads to. */
  private record Step(String name, State after) {}

  private static final List<Step> CYCLE =
      List.of(
          new Step("attach A", State.A),
          new Step("update to B", State.B),
          new Step("update to A", State.A),
          new Step("detach", State.NONE),
          new Step("attach B", State.B),
          new Step("detach after B", State.NONE));

  /** Observed durations of each step, in ms, for aiming kills. */
  private static final Map<String, List<Long>> durations = new ConcurrentHashMap<>();

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(1, "nft", "conntrack");
    directory = Files.createTempDirectory("nft-killed-launcher");
    Files.writeString(directory.resolve("a.policy"), PolicyText.format(policy(State.A)));
    Files.writeString(directory.resolve("b.policy"), PolicyText.format(policy(State.B)));
  }

  @AfterAll
  static void stopLab() throws IOException {
    if (lab != null) {
      lab.close();
    }
    if (directory != null) {
      try (var files = Files.walk(directory)) {
        files.sorted(Collections.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  /**
   * A: the API name (web 0, both families) on 443 and DNS to the lab resolver. B: web 1 on 443, the
   * gateway on 3001 and 3,000 other destinations, no DNS.
   */
  static EgressPolicy policy(State state) {
    if (state == State.A) {
      return EgressPolicy.builder()
          .allowTcp(Destination.host(ChildLauncherMain.API), 443)
          .dns(DnsRule.servers(NetnsLab.dnsServer()))
          .build();
    }
    EgressPolicy.Builder big =
        EgressPolicy.builder()
            .allowTcp(new Destination.Network(IpNetwork.host(NetnsLab.web(1))), 443)
            .allowTcp(Destination.gateway(), 3001)
            .dns(DnsRule.none());
    for (int i = 0; i < FILLER_DESTINATIONS; i++) {
      big.allowTcp(
          new Destination.Network(
              IpNetwork.parse("10.200." + (i / 250) + "." + (i % 250 + 1) + "/32")),
          443);
    }
    return big.build();
  }

  /**
   * The probes, in order: web 0:443, its IPv6 twin, web 1:443, gateway:3001, web 2:443,
   * gateway:2222.
   */
  private static List<Boolean> probe(LabContainer c) {
    return List.of(
        c.tcp(NetnsLab.web(0), 443).reached(),
        c.tcp(NetnsLab.webV6(0), 443).reached(),
        c.tcp(NetnsLab.web(1), 443).reached(),
        c.tcp(lab.gateway(), 3001).reached(),
        c.tcp(NetnsLab.web(2), 443).reached(),
        c.tcp(lab.gateway(), 2222).reached());
  }

  private static List<Boolean> expectedProbes(State state, boolean guarded) {
    switch (state) {
      case A:
        return List.of(true, true, false, false, false, false);
      case B:
        return List.of(false, false, true, true, false, false);
      default:
        // No rule set: the guard refuses everything; without one, nothing is filtered.
        return Collections.nCopies(6, !guarded);
    }
  }

  private static NftGuard guard(boolean guarded) {
    return guarded ? ChildLauncherMain.labGuard() : NftGuard.none();
  }

  private static NftBackend backend(boolean guarded) {
    return LabNft.backend(lab, guard(guarded));
  }

  private static Rules rules(NftBackend backend, State state) throws Exception {
    LabContainer c = lab.container(1);
    EgressPolicy policy = policy(state);
    return new Rules(
        backend.ruleSetName(c.id()),
        c.endpoint(),
        policy,
        ChildLauncherMain.names().resolve(policy.hostNames()));
  }

  /** Which whole rule set the kernel holds for the container; fails on anything else. */
  private static State observe(NftBackend backend, String context) throws Exception {
    Map<RuleSetName, List<InetAddress>> installed = backend.installed();
    if (installed.isEmpty()) {
      return State.NONE;
    }
    assertEquals(Set.of(backend.ruleSetName(lab.container(1).id())), installed.keySet(), context);
    for (State state : List.of(State.A, State.B)) {
      Rules rules = rules(backend, state);
      if (backend.isIntact(rules.name(), rules.plan())) {
        return state;
      }
    }
    return fail(
        context
            + ": the kernel holds a rule set that is neither A's nor B's whole: "
            + backend.loaded());
  }

  /**
   * A launcher process, and its scratch directory: its {@code java.io.tmpdir} (where the process
   * runner writes each input) and its stderr. Each nft and conntrack it runs is started by a shell
   * whose {@code $0} is that directory, so that one left running after the kill can be found.
   */
  private static final class Child {
    final ChildLauncher launcher;
    final Path scratch;

    Child(boolean guarded, int run) throws IOException {
      scratch = Files.createDirectories(directory.resolve((guarded ? "guarded-" : "open-") + run));
      launcher =
          new ChildLauncher(
              lab,
              List.of(
                  "-Xshare:auto",
                  "-XX:-UsePerfData",
                  "-XX:TieredStopAtLevel=1",
                  "-XX:+UseSerialGC",
                  // A child between its fork and its exec then carries the launcher's arguments,
                  // this directory among them, where posix_spawn's jspawnhelper carries none: a
                  // launcher killed right after it started nft is not taken for one that left
                  // nothing running (CI once saw the detach commit while the table was read).
                  "-Djdk.lang.Process.launchMechanism=FORK",
                  TMPDIR + scratch),
              guarded,
              marked("nft"),
              marked("conntrack"),
              scratch.resolve("stderr"));
    }

    /**
     * {@code tool} run by a shell that waits for it, its arguments naming the scratch directory.
     */
    private List<String> marked(String tool) {
      return lab.inHost("sh", "-c", tool + " \"$@\"; exit $?", scratch.toString());
    }

    void send(Step step) throws IOException {
      if (step.after() == State.NONE) {
        launcher.detach(lab.container(1));
      } else {
        launcher.attach(
            lab.container(1), directory.resolve(step.after() == State.A ? "a.policy" : "b.policy"));
      }
    }

    @Nullable String await(long millis) throws InterruptedException {
      return launcher.answer(millis);
    }

    String stderr() {
      try {
        return Files.readString(scratch.resolve("stderr"));
      } catch (IOException e) {
        return "(no stderr: " + e + ")";
      }
    }

    /** SIGKILL, then waits until every nft or conntrack the child left running has exited. */
    void kill() throws Exception {
      launcher.kill();
      String marker = scratch.toString();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (ProcessHandle.allProcesses()
          .anyMatch(
              p ->
                  p.info()
                      .arguments()
                      .map(
                          args ->
                              Arrays.stream(args)
                                  .anyMatch(
                                      arg -> arg.startsWith(marker) || arg.equals(TMPDIR + marker)))
                      .orElse(false))) {
        assertTrue(System.nanoTime() < deadline, "what the killed launcher started still runs");
        Thread.sleep(20);
      }
    }
  }

  private static long median(String step) {
    List<Long> seen = new ArrayList<>(durations.getOrDefault(step, List.of()));
    if (seen.isEmpty()) {
      return 400;
    }
    Collections.sort(seen);
    return seen.get(seen.size() / 2);
  }

  @ParameterizedTest(name = "guard {0}")
  @ValueSource(booleans = {true, false})
  void launcherKilledAtRandomPoints_leavesAWholeRuleSet_andReconcileRestoresTheIntendedOne(
      boolean guarded) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    LabContainer c = lab.container(1);
    NftBackend backend = backend(guarded);
    // As on a host where a launcher has started before: the table and its guard are in place.
    backend.prepare();
    Map<String, Integer> killedDuring = new TreeMap<>();
    Child next = new Child(guarded, 0);
    for (int run = 0; run < RUNS_PER_SETTING; run++) {
      Child child = next;
      int target = run % CYCLE.size();
      String context = "guard " + guarded + ", seed " + seed + ", run " + run;
      assertEquals("ready", child.await(60_000), context + ": " + child.stderr());

      State state = State.NONE;
      for (Step step : CYCLE.subList(0, target)) {
        long start = System.nanoTime();
        child.send(step);
        assertEquals("done", child.await(60_000), context + ", " + step.name());
        durations
            .computeIfAbsent(step.name(), k -> Collections.synchronizedList(new ArrayList<>()))
            .add((System.nanoTime() - start) / 1_000_000);
        state = step.after();
      }
      Step aimed = CYCLE.get(target);
      long delay = (long) (random.nextDouble() * median(aimed.name()));
      child.send(aimed);
      @Nullable String answer = child.await(delay);
      child.kill();
      if (answer == null) {
        answer = child.await(0); // printed before the kill, read after it
      }
      @Nullable State inFlight = null;
      if (answer == null) {
        inFlight = aimed.after();
        killedDuring.merge(aimed.name(), 1, Integer::sum);
      } else {
        assertEquals("done", answer, context + ", " + aimed.name());
        state = aimed.after();
        killedDuring.merge("(between steps)", 1, Integer::sum);
      }
      next = run + 1 < RUNS_PER_SETTING ? new Child(guarded, run + 1) : null;

      String killed = context + ", killed during " + aimed.name() + " after " + delay + " ms";
      State found = observe(backend, killed);
      Set<State> possible = inFlight == null ? Set.of(state) : Set.of(state, inFlight);
      assertTrue(
          possible.contains(found), killed + ": found " + found + ", not one of " + possible);
      assertEquals(expectedProbes(found, guarded), probe(c), killed + ": probes under " + found);
      assertEquals(List.of(), backend.hostProblems(), killed);

      State intended = inFlight != null ? inFlight : state;
      try (NftEgressEnforcer restarted =
          LabNft.enforcer(lab).resolver(ChildLauncherMain.names()).guard(guard(guarded)).build()) {
        restarted.reconcile(intended == State.NONE ? Set.of() : Set.of(c.id()));
        Attachment attachment =
            intended == State.NONE ? null : restarted.attach(c.endpoint(), policy(intended));
        assertEquals(intended, observe(backend, killed + ", restored"));
        assertEquals(expectedProbes(intended, guarded), probe(c), killed + ": probes restored");
        if (attachment != null) {
          attachment.detach();
        }
      }
    }
    System.out.println(
        "killed launchers (guard " + guarded + ", seed " + seed + "), by step: " + killedDuring);
    int inFlight =
        killedDuring.entrySet().stream()
            .filter(e -> !e.getKey().startsWith("("))
            .mapToInt(Map.Entry::getValue)
            .sum();
    assertTrue(
        inFlight >= RUNS_PER_SETTING / 4,
        "most kills should land while a step is under way: " + killedDuring);
  }
}
