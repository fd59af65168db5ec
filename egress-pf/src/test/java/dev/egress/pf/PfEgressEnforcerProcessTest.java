package dev.egress.pf;

import static dev.egress.pf.PfFixture.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.Subject;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.policy.Destination;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The enforcer over the real ProcessBuilder path and the fake pfctl program: counts the pfctl
 * processes each lifecycle step starts.
 */
class PfEgressEnforcerProcessTest {
  @TempDir Path dir;

  private static ContainerEndpoint container(String id, int host) {
    return new ContainerEndpoint(
        ContainerId.of(id), List.of(ip("192.168.70." + host)), ip("192.168.70.1"));
  }

  @Test
  void attachRefreshDetachReconcile_runExactlyTheExpectedPfctlProcesses() throws Exception {
    Path program = FakePfctl.installExecutable(dir);
    Path state = dir.resolve("pfctl.state");
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host("api.example.com"), 443)
            .allowTcp(Destination.network("203.0.113.0/24"), 22)
            .build();
    try (PfFixture pf = new PfFixture()) {
      pf.resolver.answer("api.example.com", Set.of(ip("198.51.100.1")));
      List<String> command = List.of(program.toString());
      PfEgressEnforcer enforcer = pf.enforcer(new SystemProcessRunner(), command);

      enforcer.reconcile(Set.of());
      assertEquals(
          List.of(
              "-s info",
              "-E",
              "-a com.apple/000.egress -f -",
              "-a com.apple/000.egress -s Anchors"),
          callsSince(state, 0));
      enforcer.attach(
          container("c1", 10), policy); // the lifecycle's own first prepare, then the load
      int mark = calls(state);
      Attachment c2 = enforcer.attach(container("c2", 11), policy);
      assertEquals(List.of("-a com.apple/000.egress/c2 -f -"), callsSince(state, mark));

      mark = calls(state);
      pf.resolver.change("api.example.com", Set.of(ip("198.51.100.2")));
      List<String> refresh = callsSince(state, mark);
      assertEquals(2, refresh.size(), "one table replace per attached container: " + refresh);
      assertTrue(
          refresh.stream()
              .allMatch(
                  l -> l.matches("-a com\\.apple/000\\.egress/c[12] -t \\w+ -T replace -f -")),
          refresh.toString());

      mark = calls(state);
      c2.detach();
      assertEquals(
          List.of(
              "-a com.apple/000.egress/c2 -F all",
              "-k 192.168.70.11",
              "-k 0.0.0.0/0 -k 192.168.70.11",
              "-s state"),
          callsSince(state, mark));

      // The launcher restarts; c1 still runs, c3 (attached by the old process) is gone.
      enforcer.attach(container("c3", 12), policy);
      pf.resolver.forgetSubscribers();
      PfEgressEnforcer restarted = pf.enforcer(new SystemProcessRunner(), command);
      mark = calls(state);
      assertEquals(
          Set.of(Subject.unowned(new AnchorName("c3"))),
          restarted.reconcile(Set.of(ContainerId.of("c1"))).removed());
      assertEquals(
          List.of(
              "-s info",
              "-a com.apple/000.egress -f -",
              "-a com.apple/000.egress -s Anchors",
              "-a com.apple/000.egress/c1 -s rules",
              "-a com.apple/000.egress/c2 -s rules",
              "-a com.apple/000.egress/c3 -s rules",
              "-a com.apple/000.egress/c3 -F all",
              "-k 192.168.70.12",
              "-k 0.0.0.0/0 -k 192.168.70.12",
              "-s state"),
          callsSince(state, mark));

      FakePfctl after = FakePfctl.readFrom(state);
      assertEquals(List.of(), after.refusedCalls());
      var filter = after.packetFilter(PfFixture.PARENT.path().value());
      assertEquals(
          dev.egress.testkit.pf.PfVerdict.PASS,
          filter.apply(PfFixture.packet(ip("192.168.70.10"), Flow.tcp(ip("198.51.100.2"), 443))));
      assertEquals(
          dev.egress.testkit.pf.PfVerdict.BLOCK,
          filter.apply(PfFixture.packet(ip("192.168.70.12"), Flow.tcp(ip("198.51.100.2"), 443))));
      restarted.close();
    }
  }

  private static int calls(Path state) throws Exception {
    return FakePfctl.readFrom(state).calls().size();
  }

  private static List<String> callsSince(Path state, int mark) throws Exception {
    List<FakePfctl.Call> calls = FakePfctl.readFrom(state).calls();
    return calls.subList(mark, calls.size()).stream().map(FakePfctl.Call::line).toList();
  }
}
