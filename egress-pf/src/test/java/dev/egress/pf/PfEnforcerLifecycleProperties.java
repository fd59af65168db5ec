package dev.egress.pf;

import static dev.egress.pf.PfFixture.ip;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.Subject;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfVerdict;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random lifecycles of a PfEgressEnforcer over FakePfctl: attach, update, detach, address reuse by
 * a new container, answers that change, failing pfctl calls, enforcer crash and restart with
 * reconcile, and drift. After every step pf (the fake's state, judged by the pf evaluator) must
 * give every live container exactly its policy, and the address of a container that is not attached
 * nothing at all; a container whose removal failed keeps at most its last policy.
 */
class PfEnforcerLifecycleProperties {
  private static final int SLOTS = 3;
  private static final InetAddress GATEWAY = ip("192.168.70.1");
  private static final List<String> NAMES = List.of("a.example", "b.example");
  private static final List<Set<InetAddress>> ANSWERS =
      List.of(
          Set.of(),
          Set.of(ip("198.51.100.1")),
          Set.of(ip("198.51.100.2"), ip("2001:db8::2")),
          Set.of(ip("198.51.100.1"), ip("198.51.100.3")));
  private static final List<InetAddress> PROBE_DESTINATIONS =
      List.of(
          ip("198.51.100.1"),
          ip("198.51.100.2"),
          ip("198.51.100.3"),
          ip("203.0.113.5"),
          ip("203.0.113.99"),
          GATEWAY,
          ip("192.0.2.53"),
          ip("2001:db8::2"),
          ip("2001:db8::99"));
  private static final List<Integer> PROBE_PORTS = List.of(22, 53, 80, 443, 3001, 5050);
  private static final List<EgressPolicy> POLICIES =
      List.of(
          EgressPolicy.denyAll(),
          EgressPolicy.builder()
              .allowTcp(Destination.host("a.example"), 443)
              .dns(DnsRule.gateway())
              .build(),
          EgressPolicy.builder()
              .allowTcp(Destination.host("b.example"), 443)
              .allowTcp(Destination.network("203.0.113.0/28"), 22)
              .allow(Destination.host("a.example"), Protocol.UDP, new PortRange(5000, 5100))
              .dns(DnsRule.servers(ip("192.0.2.53")))
              .build(),
          EgressPolicy.builder()
              .allowTcp(Destination.gateway(), 3001)
              .allow(Destination.host("b.example"), Protocol.TCP, new PortRange(1, 1000))
              .dns(DnsRule.none())
              .build(),
          EgressPolicy.builder()
              .allowTcp(new Destination.UnsafeAnyAddress(), 443)
              .dns(DnsRule.gateway())
              .build());

  sealed interface Action {}

  record Attach(int slot, int policy) implements Action {}

  record Update(int slot, int policy) implements Action {}

  record Detach(int slot) implements Action {}

  record ChangeAnswer(int name, int answer) implements Action {}

  /** The next pfctl call whose options contain {@code match} fails (pf busy). */
  record Fault(String match) implements Action {}

  /** The enforcer dies; containers in {@code deadMask} stop meanwhile; a new one reconciles. */
  record CrashAndRestart(int deadMask) implements Action {}

  record WipeAnchor(int slot) implements Action {}

  record DisabledByOthers() implements Action {}

  @Provide
  Arbitrary<List<Action>> lifecycles() {
    Arbitrary<Integer> slot = Arbitraries.integers().between(0, SLOTS - 1);
    Arbitrary<Integer> policy = Arbitraries.integers().between(0, POLICIES.size() - 1);
    Arbitrary<Action> action =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(
                5, net.jqwik.api.Combinators.combine(slot, policy).as(Attach::new)),
            net.jqwik.api.Tuple.of(
                2, net.jqwik.api.Combinators.combine(slot, policy).as(Update::new)),
            net.jqwik.api.Tuple.of(3, slot.map(Detach::new)),
            net.jqwik.api.Tuple.of(
                3,
                net.jqwik.api.Combinators.combine(
                        Arbitraries.integers().between(0, NAMES.size() - 1),
                        Arbitraries.integers().between(0, ANSWERS.size() - 1))
                    .as(ChangeAnswer::new)),
            net.jqwik.api.Tuple.of(
                2, Arbitraries.of("-f -", "-F all", "-T replace", "-k").map(Fault::new)),
            net.jqwik.api.Tuple.of(
                1, Arbitraries.integers().between(0, (1 << SLOTS) - 1).map(CrashAndRestart::new)),
            net.jqwik.api.Tuple.of(1, slot.map(WipeAnchor::new)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(new DisabledByOthers())));
    return action.list().ofMinSize(1).ofMaxSize(25);
  }

  @Property(tries = 100)
  void everyStep_givesLiveContainersExactlyTheirPolicy_andOthersNothing(
      @ForAll("lifecycles") List<Action> actions) throws Exception {
    try (Run run = new Run()) {
      for (Action action : actions) {
        run.apply(action);
        run.checkInvariant(action);
      }
    }
  }

  /** One lifecycle: the fake, the enforcer, and what the launcher knows. */
  private static final class Run implements AutoCloseable {
    final PfFixture pf = new PfFixture();
    PfEgressEnforcer enforcer;
    final Map<Integer, Attachment> live = new HashMap<>();

    /** Container ids whose removal failed, with the most their rules may allow. */
    final Map<ContainerId, EgressPolicy> mayStillHold = new HashMap<>();

    final Map<ContainerId, Integer> slotOf = new HashMap<>();
    final Map<HostName, Set<InetAddress>> everAnswered = new HashMap<>();
    int generation;

    Run() throws EgressException {
      for (String name : NAMES) {
        answer(name, ANSWERS.get(1));
      }
      enforcer = pf.enforcer();
      enforcer.reconcile(
          Set.of()); // what a launcher does first: the guard is up before any container
    }

    private void answer(String name, Set<InetAddress> addresses) {
      pf.resolver.change(name, addresses);
      everAnswered.computeIfAbsent(HostName.of(name), n -> new HashSet<>()).addAll(addresses);
    }

    static ContainerEndpoint endpoint(ContainerId id, int slot) {
      return new ContainerEndpoint(
          id,
          List.of(
              ip("192.168.70." + (10 + slot)), ip("fd00:70::" + Integer.toHexString(10 + slot))),
          GATEWAY);
    }

    void apply(Action action) throws Exception {
      if (action instanceof Attach attach) {
        if (!live.containsKey(attach.slot())) {
          ContainerId id = ContainerId.of("c" + attach.slot() + "-" + generation++);
          slotOf.put(id, attach.slot());
          EgressPolicy policy = POLICIES.get(attach.policy());
          try {
            live.put(attach.slot(), enforcer.attach(endpoint(id, attach.slot()), policy));
          } catch (EgressException | IllegalStateException e) {
            mayStillHold.put(id, policy); // if its clean-up failed too
          }
        }
      } else if (action instanceof Update update) {
        Attachment attachment = live.get(update.slot());
        if (attachment != null) {
          EgressPolicy before = attachment.policy();
          try {
            attachment.update(POLICIES.get(update.policy()));
          } catch (EgressException e) {
            check(attachment.policy().equals(before), "a failed update keeps the old policy");
          }
        }
      } else if (action instanceof Detach detach) {
        Attachment attachment = live.remove(detach.slot());
        if (attachment != null) {
          EgressPolicy policy = attachment.policy();
          mayStillHold.put(attachment.container().id(), policy);
          retried(attachment::detach); // the launcher retries; faults are finite
        }
      } else if (action instanceof ChangeAnswer change) {
        answer(NAMES.get(change.name()), ANSWERS.get(change.answer()));
        repair(); // a failed refresh schedules a reinstall; run it now
      } else if (action instanceof Fault fault) {
        pf.fake.failOn(fault.match(), 1, 1, "pfctl: DIOCXCOMMIT: Device busy");
      } else if (action instanceof CrashAndRestart crash) {
        pf.resolver.forgetSubscribers();
        Map<Integer, Attachment> survivors = new HashMap<>();
        live.forEach(
            (slot, attachment) -> {
              if ((crash.deadMask() & (1 << slot)) == 0) {
                survivors.put(slot, attachment);
              } else {
                mayStillHold.put(attachment.container().id(), attachment.policy());
              }
            });
        live.clear();
        enforcer = pf.enforcer();
        Set<ContainerId> running = new HashSet<>();
        survivors.values().forEach(a -> running.add(a.container().id()));
        retried(() -> enforcer.reconcile(running));
        for (Map.Entry<Integer, Attachment> survivor : survivors.entrySet()) {
          ContainerEndpoint container = survivor.getValue().container();
          try {
            live.put(survivor.getKey(), enforcer.attach(container, survivor.getValue().policy()));
          } catch (EgressException e) {
            mayStillHold.put(container.id(), survivor.getValue().policy());
          }
        }
      } else if (action instanceof WipeAnchor wipe) {
        Attachment attachment = live.get(wipe.slot());
        if (attachment != null) {
          pf.fake.wipeAnchor(
              PfFixture.PARENT
                  .childPath(PfFixture.PARENT.childName(attachment.container().id()))
                  .value());
          repair();
        }
      } else if (action instanceof DisabledByOthers) {
        pf.fake.disableByOthers();
        repair();
      }
      mayStillHold.keySet().removeIf(id -> !pendingRemoval(id));
    }

    interface Step {
      void run() throws EgressException;
    }

    /** As a launcher would: retries while pfctl fails, as often as faults can be armed. */
    private static void retried(Step step) throws EgressException {
      for (int attempt = 1; ; attempt++) {
        try {
          step.run();
          return;
        } catch (EgressException e) {
          if (attempt == 30) {
            throw e;
          }
        }
      }
    }

    /**
     * Whether the rules of {@code id} are still pending removal: as a container of this process,
     * or, after a restart, as unowned rules under its rule-set name.
     */
    private boolean pendingRemoval(ContainerId id) {
      Set<Subject.Removable> pending = enforcer.pendingRemovals();
      return pending.contains(Subject.container(id))
          || pending.contains(Subject.unowned(PfFixture.PARENT.childName(id)));
    }

    /** Health checks until pf is as installed (a fault may spoil one round). */
    private void repair() {
      for (int round = 0; round < 3 && !enforcer.checkHealth().isEmpty(); round++) {
        // next round
      }
    }

    void checkInvariant(Action after) {
      Function<PfPacket, PfVerdict> filter = pf.filter();
      Resolutions now = pf.resolver.current();
      Resolutions anyAnswer = new Resolutions(everAnswered);
      for (int slot = 0; slot < SLOTS; slot++) {
        Attachment attachment = live.get(slot);
        EgressPolicy leftover = null;
        for (Map.Entry<ContainerId, EgressPolicy> entry : mayStillHold.entrySet()) {
          if (slotOf.get(entry.getKey()) == slot) {
            leftover = entry.getValue();
          }
        }
        for (InetAddress source : endpoint(ContainerId.of("probe"), slot).addresses()) {
          for (InetAddress destination : PROBE_DESTINATIONS) {
            if (IpAddresses.isIpv6(destination) != IpAddresses.isIpv6(source)) {
              continue;
            }
            for (int port : PROBE_PORTS) {
              for (Protocol protocol : Protocol.values()) {
                Flow flow = new Flow(protocol, destination, port);
                boolean passes = filter.apply(PfFixture.packet(source, flow)) == PfVerdict.PASS;
                String where =
                    "after "
                        + after
                        + ", slot "
                        + slot
                        + " from "
                        + IpAddresses.format(source)
                        + ": "
                        + flow;
                if (attachment != null) {
                  boolean allowed = attachment.policy().permits(flow, GATEWAY, now);
                  check(
                      passes == allowed,
                      where
                          + (allowed
                              ? " is blocked but the policy allows it"
                              : " passes but the policy " + attachment.policy() + " denies it"));
                } else if (leftover != null) {
                  check(
                      !passes || leftover.permits(flow, GATEWAY, anyAnswer),
                      where + " passes beyond the last policy of a container being removed");
                } else {
                  check(!passes, where + " passes, but no container is attached there");
                }
              }
            }
          }
        }
      }
      check(pf.fake.refusedCalls().isEmpty(), "forbidden pfctl calls: " + pf.fake.refusedCalls());
    }

    private static void check(boolean condition, String message) {
      if (!condition) {
        throw new AssertionError(message);
      }
    }

    @Override
    public void close() {
      pf.close();
    }
  }
}
