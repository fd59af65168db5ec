package dev.egress.nftables;

import dev.egress.plan.Allow;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.plan.Target;
import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What a container's two host sets (one per family) hold for a plan: every address of every host
 * name of its allow lines, each with the protocol and ports those lines open, as {@link
 * SetElement}s. One set per family instead of one per name keeps the table's number of sets
 * constant per container: nft lists each set's elements in a request of its own that the kernel
 * answers by walking the table's list of sets, so a listing grows with the square of their number.
 *
 * <p>Two names may share an address (CDNs) with ports that overlap, and the kernel refuses an
 * interval element that overlaps another. So the ports are cut, per protocol, at every boundary of
 * every host line of the policy: each piece is inside or outside each line, and an element is one
 * address with one piece. The pieces depend on the policy alone, so the same grant always writes
 * the same elements, whatever else the set holds. An element is there without a timeout when a name
 * whose lines cover its piece resolved to its address; otherwise, when such names were granted the
 * address, with the time the latest of those grants ends. A connection passes exactly when one of
 * the names of a line opening its protocol and port holds its address: {@link
 * EnforcementPlan#permits}.
 *
 * <p>An element of a single port goes into a hash set, whose update costs the same whatever the set
 * holds; only ranges of ports need an interval set, whose every update costs time in proportion to
 * what it holds (a grant into 1,000 elements: 2.6 ms against 0.36 ms), so a container has interval
 * sets only when its policy's host lines open ranges.
 *
 * <p>Immutable; made per plan by {@link #of}.
 */
final class HostSets {
  /** Each name with the protocols and port pieces its allow lines open, in order. */
  private final Map<HostName, List<Slot>> slots;

  /** A protocol and one piece of ports. */
  private record Slot(Protocol protocol, PortRange ports) {}

  private HostSets(Map<HostName, List<Slot>> slots) {
    this.slots = slots;
  }

  /** The pieces of {@code plan}'s host lines. */
  static HostSets of(EnforcementPlan plan) {
    Map<Protocol, NavigableSet<Integer>> cuts = new EnumMap<>(Protocol.class);
    Map<HostName, List<Allow>> lines = new LinkedHashMap<>();
    for (Allow allow : plan.allows()) {
      allow
          .target()
          .match(
              new Target.Cases<Void>() {
                @Override
                public Void network(IpNetwork network) {
                  return null;
                }

                @Override
                public Void addressSet(HostName name) {
                  lines.computeIfAbsent(name, n -> new ArrayList<>()).add(allow);
                  for (PortRange range : allow.ports().ranges()) {
                    NavigableSet<Integer> at =
                        cuts.computeIfAbsent(allow.protocol(), p -> new TreeSet<>());
                    at.add(range.first());
                    at.add(range.last() + 1);
                  }
                  return null;
                }

                @Override
                public Void anyAddress() {
                  return null;
                }
              });
    }
    Map<HostName, List<Slot>> slots = new LinkedHashMap<>();
    lines.forEach(
        (name, allows) -> {
          Set<Slot> pieces = new LinkedHashSet<>();
          for (Allow allow : allows) {
            // Every host line put its boundaries in: its protocol has cuts.
            NavigableSet<Integer> at = Objects.requireNonNull(cuts.get(allow.protocol()));
            for (PortRange range : allow.ports().ranges()) {
              Integer first = range.first();
              for (Integer next : at.subSet(first, false, range.last() + 1, true)) {
                pieces.add(new Slot(allow.protocol(), new PortRange(first, next - 1)));
                first = next;
              }
            }
          }
          slots.put(name, List.copyOf(pieces));
        });
    return new HostSets(slots);
  }

  /** Whether the plan has host lines, and so the container has host sets. */
  boolean isEmpty() {
    return slots.isEmpty();
  }

  /** Whether some element is a range of ports: the container then also has interval sets. */
  boolean hasRanges() {
    return slots.values().stream()
        .anyMatch(pieces -> pieces.stream().anyMatch(slot -> !slot.ports().isSinglePort()));
  }

  /** The elements of {@code family} without a timeout: the names' resolved addresses. */
  Set<SetElement> resolved(EnforcementPlan plan, Family family) {
    Set<SetElement> elements = new TreeSet<>();
    slots.forEach(
        (name, pieces) -> {
          for (InetAddress address : plan.addresses(name, family)) {
            pieces.forEach(slot -> elements.add(element(address, slot)));
          }
        });
    return elements;
  }

  /**
   * The elements of {@code family} with a timeout: each with the end of the latest grant of its
   * address to a name covering its piece, ended grants included. An element that is also {@link
   * #resolved} is left out: it stays without a timeout.
   */
  Map<SetElement, Instant> granted(EnforcementPlan plan, Family family) {
    Map<SetElement, Instant> granted = new TreeMap<>();
    slots.forEach(
        (name, pieces) ->
            plan.granted(name, family)
                .forEach(
                    (address, until) -> {
                      for (Slot slot : pieces) {
                        granted.merge(
                            element(address, slot),
                            until,
                            (one, other) -> one.isAfter(other) ? one : other);
                      }
                    }));
    if (!granted.isEmpty()) {
      granted.keySet().removeAll(resolved(plan, family));
    }
    return granted;
  }

  /**
   * The grants that {@code timed} (elements with a timeout, each with the end the kernel gives it)
   * holds for every piece of a name: the name's grant of an address when the address has an element
   * for each of the name's pieces, ending at the earliest of their ends. Rendered again ({@link
   * #granted}) they write no element that {@code timed} lacks and no end later than its own. Sets
   * are per container, so a name is credited with every address it could have been granted: names
   * whose lines open the same ports are all credited with what one of them was granted. Under this
   * plan the kernel's elements are the same either way; under another they are not, which is why
   * the lifecycle keeps such grants for the plan they were found under only.
   */
  Map<HostName, Map<InetAddress, Instant>> grantsCoveringEveryPiece(
      Map<SetElement, Instant> timed) {
    Map<InetAddress, Map<Slot, Instant>> byAddress = new LinkedHashMap<>();
    timed.forEach(
        (element, until) ->
            byAddress
                .computeIfAbsent(element.address(), a -> new LinkedHashMap<>())
                .put(new Slot(element.protocol(), element.ports()), until));
    Map<HostName, Map<InetAddress, Instant>> grants = new TreeMap<>();
    slots.forEach(
        (name, pieces) ->
            byAddress.forEach(
                (address, held) -> {
                  if (!pieces.isEmpty() && held.keySet().containsAll(pieces)) {
                    Instant earliest =
                        pieces.stream().map(held::get).min(Instant::compareTo).orElseThrow();
                    grants.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(address, earliest);
                  }
                }));
    return grants;
  }

  /**
   * Each name with the pieces its lines open, one line per name in order ({@code name: tcp 443, tcp
   * 8000-8100}): what a grant to a name writes, and so part of the key of the plan that a rule set
   * carries ({@link NftRenderer#PLAN_COMMENT}). A change of this text changes every key, so that no
   * grant is taken over across it.
   */
  String keyText() {
    return slots.entrySet().stream()
        .map(
            entry ->
                entry.getKey()
                    + ": "
                    + entry.getValue().stream()
                        .map(slot -> slot.protocol().keyword() + " " + slot.ports())
                        .collect(Collectors.joining(", ")))
        .collect(Collectors.joining("\n"));
  }

  private static SetElement element(InetAddress address, Slot slot) {
    return new SetElement(address, slot.protocol(), slot.ports());
  }
}
