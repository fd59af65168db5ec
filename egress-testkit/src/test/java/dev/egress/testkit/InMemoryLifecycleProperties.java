package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Protocol;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;

/**
 * Random lifecycles of the in-memory enforcer — attach, update, detach, reconcile, failures and
 * name changes — checked after every step against a model kept only from what each call returned or
 * threw: which policy is in force for whom, which removals are pending, and that {@code wouldAllow}
 * decides exactly as that policy does.
 */
class InMemoryLifecycleProperties {
  private static final List<Flow> PROBES = probes();

  private static List<Flow> probes() {
    List<Flow> flows = new ArrayList<>();
    for (String address : List.of("10.0.0.1", "10.0.1.2", "192.0.2.1", "fd00::1:1")) {
      for (int port : List.of(53, 443, 5432)) {
        for (Protocol protocol : Protocol.values()) {
          flows.add(new Flow(protocol, IpAddresses.parse(address), port));
        }
      }
    }
    return List.copyOf(flows);
  }

  static final class Lifecycle {
    final FakeNameResolver resolver = new FakeNameResolver();
    final InMemoryEgressEnforcer enforcer =
        InMemoryEgressEnforcer.builder().resolver(resolver).build();
    final List<ContainerEndpoint> containers =
        List.of(
            new ContainerEndpoint(
                ContainerId.of("one"),
                List.of(IpAddresses.parse("10.9.0.1")),
                IpAddresses.parse("10.0.0.1")),
            new ContainerEndpoint(
                ContainerId.of("two"),
                List.of(IpAddresses.parse("10.9.0.2"), IpAddresses.parse("fd09::2")),
                IpAddresses.parse("10.0.0.1")),
            new ContainerEndpoint(
                ContainerId.of("three"), List.of(IpAddresses.parse("10.9.0.3")), null));

    /** Model: the policy whose rules are in place, per id (attached or pending removal). */
    final Map<ContainerId, EgressPolicy> inForce = new HashMap<>();

    final Set<ContainerId> pending = new HashSet<>();
    final Map<ContainerId, Attachment> handles = new HashMap<>();

    void attach(int index, EgressPolicy policy, boolean failing) {
      ContainerEndpoint container = containers.get(index);
      enforcer.failNextOperations(failing ? 1 : 0);
      try {
        handles.put(container.id(), enforcer.attach(container, policy));
        inForce.put(container.id(), policy);
        pending.remove(container.id());
      } catch (UnsupportedPolicyException | IllegalArgumentException refused) {
        // refused before any change
      } catch (EgressException failed) {
        // nothing changes: a failed attach leaves no new rules, an update keeps the old ones
      } finally {
        enforcer.failNextOperations(0);
      }
    }

    void update(int index, EgressPolicy policy, boolean failing) {
      Attachment handle = handles.get(containers.get(index).id());
      if (handle == null || !handle.isActive()) {
        return;
      }
      enforcer.failNextOperations(failing ? 1 : 0);
      try {
        handle.update(policy);
        inForce.put(handle.container().id(), policy);
      } catch (UnsupportedPolicyException | IllegalArgumentException refused) {
        // refused before any change
      } catch (EgressException failed) {
        // the old policy stays
      } finally {
        enforcer.failNextOperations(0);
      }
    }

    void detach(int index, boolean failing) {
      Attachment handle = handles.get(containers.get(index).id());
      if (handle == null) {
        return;
      }
      ContainerId id = handle.container().id();
      enforcer.failNextOperations(failing ? 1 : 0);
      try {
        handle.detach();
        inForce.remove(id);
        pending.remove(id);
      } catch (EgressException failed) {
        if (inForce.containsKey(id)) {
          pending.add(id);
        }
      } finally {
        enforcer.failNextOperations(0);
      }
    }

    void reconcile(Set<ContainerId> live, boolean failing) {
      enforcer.failNextOperations(failing ? 1 : 0);
      try {
        ReconcileResult result = enforcer.reconcile(live);
        result
            .removed()
            .forEach(
                removed -> {
                  ContainerId id = ((Subject.Container) removed).id();
                  inForce.remove(id);
                  pending.remove(id);
                });
      } catch (EgressException failed) {
        // Some removals may have succeeded; the enforcer's lists say which ids are still there.
        Set<ContainerId> remaining = pendingIds();
        enforcer.attachments().forEach(a -> remaining.add(a.container().id()));
        inForce.keySet().retainAll(remaining);
        for (ContainerId id : inForce.keySet()) {
          if (!live.contains(id) || pending.contains(id)) {
            pending.add(id);
          }
        }
        pending.retainAll(inForce.keySet());
      } finally {
        enforcer.failNextOperations(0);
      }
    }

    /** The fake removes only containers it attached: each pending removal is one of them. */
    Set<ContainerId> pendingIds() {
      return enforcer.pendingRemovals().stream()
          .map(removal -> ((Subject.Container) removal).id())
          .collect(Collectors.toCollection(HashSet::new));
    }

    void check() {
      Set<ContainerId> attached =
          enforcer.attachments().stream().map(a -> a.container().id()).collect(Collectors.toSet());
      Set<ContainerId> expectedAttached = new HashSet<>(inForce.keySet());
      expectedAttached.removeAll(pending);
      assertEquals(expectedAttached, attached, "attachments");
      assertEquals(pending, pendingIds(), "pending removals");
      for (ContainerEndpoint container : containers) {
        EgressPolicy policy = inForce.get(container.id());
        Attachment handle = handles.get(container.id());
        if (policy != null && !pending.contains(container.id()) && handle != null) {
          assertEquals(policy, handle.policy(), container.id() + " policy");
        }
        for (InetAddress source : container.addresses()) {
          for (Flow flow : PROBES) {
            boolean expected =
                policy != null
                    && policy.permits(
                        flow, container.gateway(), resolver.current(policy.hostNames()));
            assertEquals(
                expected,
                enforcer.wouldAllow(source, flow),
                container.id()
                    + " from "
                    + IpAddresses.format(source)
                    + " "
                    + flow
                    + " under "
                    + policy);
          }
        }
      }
    }

    @Override
    public String toString() {
      return "in force " + inForce.keySet() + ", pending " + pending;
    }
  }

  private static Arbitrary<Integer> index() {
    return Arbitraries.integers().between(0, 2);
  }

  private static Arbitrary<Boolean> failing() {
    return Arbitraries.of(false, false, true);
  }

  private static final Action.Independent<Lifecycle> ATTACH =
      () ->
          Combinators.combine(index(), EgressArbitraries.policies(), failing())
              .as(
                  (i, policy, fail) ->
                      Transformer.<Lifecycle>mutate(
                          "attach " + i + (fail ? " (failing)" : "") + ":\n" + policy,
                          s -> s.attach(i, policy, fail)));

  private static final Action.Independent<Lifecycle> UPDATE =
      () ->
          Combinators.combine(index(), EgressArbitraries.policies(), failing())
              .as(
                  (i, policy, fail) ->
                      Transformer.<Lifecycle>mutate(
                          "update " + i + (fail ? " (failing)" : "") + ":\n" + policy,
                          s -> s.update(i, policy, fail)));

  private static final Action.Independent<Lifecycle> DETACH =
      () ->
          Combinators.combine(index(), failing())
              .as(
                  (i, fail) ->
                      Transformer.<Lifecycle>mutate(
                          "detach " + i + (fail ? " (failing)" : ""), s -> s.detach(i, fail)));

  private static final Action.Independent<Lifecycle> RECONCILE =
      () ->
          Combinators.combine(
                  Arbitraries.of("one", "two", "three").map(ContainerId::of).set(), failing())
              .as(
                  (live, fail) ->
                      Transformer.<Lifecycle>mutate(
                          "reconcile " + live + (fail ? " (failing)" : ""),
                          s -> s.reconcile(live, fail)));

  private static final Action.Independent<Lifecycle> RESOLVE =
      () ->
          Combinators.combine(
                  EgressArbitraries.hostNames(), EgressArbitraries.addresses().set().ofMaxSize(2))
              .as(
                  (HostName name, Set<InetAddress> addresses) ->
                      Transformer.<Lifecycle>mutate(
                          name + " -> " + addresses,
                          s -> s.resolver.set(name, addresses.toArray(InetAddress[]::new))));

  @Provide
  Arbitrary<ActionChain<Lifecycle>> lifecycles() {
    return ActionChain.startWith(Lifecycle::new)
        .withAction(3, ATTACH)
        .withAction(2, UPDATE)
        .withAction(2, DETACH)
        .withAction(1, RECONCILE)
        .withAction(2, RESOLVE)
        .withMaxTransformations(20);
  }

  @Property(tries = 50)
  void everyStep_leavesTheEnforcerAsItsCallsSaid(
      @ForAll("lifecycles") ActionChain<Lifecycle> chain) {
    chain.withInvariant(Lifecycle::check).run();
  }
}
