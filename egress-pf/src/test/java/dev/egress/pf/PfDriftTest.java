package dev.egress.pf;

import static dev.egress.pf.PfFixture.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.testkit.pf.FakePfctl;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 17: a container's anchor altered behind the enforcer's back (its final blocks deleted, a
 * pass added, a table's entry swapped or one added) is found by the health check and by reconcile,
 * reported as a {@code DriftDetected} event, and reloaded whole.
 */
class PfDriftTest {
  private static final String ANCHOR = "com.apple/000.egress/c1";
  private static final InetAddress SOURCE = ip("192.168.70.10");
  private static final InetAddress API = ip("198.51.100.1");
  private static final InetAddress OTHER = ip("203.0.113.99");

  private final PfFixture pf = new PfFixture();
  private final List<EgressEvent> events = new CopyOnWriteArrayList<>();
  private final PfEgressEnforcer enforcer =
      pf.builder(pf.fake, List.of("/sbin/pfctl")).listener(events::add).build();

  @AfterEach
  void close() {
    enforcer.close();
    assertEquals(List.of(), pf.fake.refusedCalls(), "the enforcer ran a forbidden pfctl command");
    pf.close();
  }

  /** An edit made by hand, given the fake pf and the text the enforcer loaded into the anchor. */
  enum Edit {
    FINAL_BLOCKS_DELETED(
        (fake, loaded) ->
            load(
                fake,
                loaded
                    .lines()
                    .filter(line -> !line.startsWith("block return in"))
                    .collect(Collectors.joining("\n", "", "\n")))),
    PASS_ADDED(
        (fake, loaded) ->
            load(
                fake,
                "pass in quick inet proto tcp from 192.168.70.10 to any port = 443\n" + loaded)),
    TABLE_ENTRY_SWAPPED(
        (fake, loaded) -> load(fake, loaded.replace("198.51.100.1", "203.0.113.99"))),
    TABLE_ENTRY_ADDED(
        (fake, loaded) ->
            fake.execute(
                List.of("pfctl", "-a", ANCHOR, "-t", "tcp_443", "-T", "add", "203.0.113.99"), ""));

    final BiConsumer<FakePfctl, String> apply;

    Edit(BiConsumer<FakePfctl, String> apply) {
      this.apply = apply;
    }

    private static void load(FakePfctl fake, String text) {
      FakePfctl.Result result = fake.execute(List.of("pfctl", "-a", ANCHOR, "-f", "-"), text);
      assertEquals(0, result.exitCode(), result.stderr());
    }

    /** Whether the edit shows in verdicts: the guard after the anchors still blocks the rest. */
    boolean opensOther() {
      return this != FINAL_BLOCKS_DELETED;
    }
  }

  private static EgressPolicy apiPolicy() {
    return EgressPolicy.builder()
        .allowTcp(Destination.host("api.example.com"), 443)
        .dns(DnsRule.gateway())
        .build();
  }

  /** Attaches c1, applies {@code edit}, and returns the anchor's rules and tables as loaded. */
  private FakePfctl.Anchor attachAndEdit(Edit edit) throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API));
    enforcer.attach(
        new ContainerEndpoint(ContainerId.of("c1"), List.of(SOURCE), ip("192.168.70.1")),
        apiPolicy());
    FakePfctl.Anchor intact = pf.fake.anchor(ANCHOR).orElseThrow();
    String loaded =
        pf.fake.calls().stream()
            .filter(call -> call.line().equals("-a " + ANCHOR + " -f -"))
            .reduce((first, second) -> second)
            .orElseThrow()
            .stdin();
    edit.apply.accept(pf.fake, loaded);
    assertNotEquals(intact, pf.fake.anchor(ANCHOR).orElseThrow(), "the edit changed nothing");
    assertEquals(edit.opensOther(), pf.passes(SOURCE, Flow.tcp(OTHER, 443)));
    events.clear();
    return intact;
  }

  private void assertRepaired(FakePfctl.Anchor intact) {
    assertEquals(intact, pf.fake.anchor(ANCHOR).orElseThrow(), "the anchor is reloaded whole");
    assertTrue(pf.passes(SOURCE, Flow.tcp(API, 443)));
    assertFalse(pf.passes(SOURCE, Flow.tcp(OTHER, 443)));
    List<EgressEvent.DriftDetected> drift =
        events.stream()
            .filter(e -> e instanceof EgressEvent.DriftDetected)
            .map(e -> (EgressEvent.DriftDetected) e)
            .toList();
    assertEquals(1, drift.size(), events.toString());
    assertEquals(Subject.container(ContainerId.of("c1")), drift.get(0).subject());
    assertTrue(drift.get(0).repaired(), drift.toString());
  }

  @ParameterizedTest
  @EnumSource(Edit.class)
  void anEditedAnchor_isFoundByTheHealthCheck_reportedAndReloadedWhole(Edit edit) throws Exception {
    FakePfctl.Anchor intact = attachAndEdit(edit);

    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();

    assertEquals(1, findings.size(), findings.toString());
    assertRepaired(intact);
    assertEquals(List.of(), enforcer.checkHealth(), "and it stays repaired");
  }

  @ParameterizedTest
  @EnumSource(Edit.class)
  void anEditedAnchor_isFoundByReconcile_reportedAndReloadedWhole(Edit edit) throws Exception {
    FakePfctl.Anchor intact = attachAndEdit(edit);

    ReconcileResult result = enforcer.reconcile(Set.of(ContainerId.of("c1")));

    assertEquals(Set.of(ContainerId.of("c1")), result.repaired());
    assertEquals(Set.of(), result.removed());
    assertRepaired(intact);
  }
}
