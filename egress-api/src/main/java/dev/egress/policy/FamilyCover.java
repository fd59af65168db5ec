package dev.egress.policy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Finds networks that together allow a whole address family for some protocol and port: {@code
 * 0.0.0.0/1} and {@code 128.0.0.0/1} are {@code 0.0.0.0/0} by halves, and any address is {@link
 * Destination.UnsafeAnyAddress}'s to grant, by name. Ports an {@code unsafe-any-address} allowance
 * of the same protocol already opens, and port 53 (which allow rules never open), do not count.
 *
 * <p>Linear-logarithmic in the number of allowances: a sweep over the port boundaries keeps a
 * segment tree over the networks' address intervals that says whether they cover the family.
 *
 * @param protocol the protocol of the covering allowances
 * @param ports ports for which they all hold and cover the family (the first such range)
 * @param ipv6 which family they cover
 * @param indices a smallest set of covering allowances, as indices into the list searched,
 *     ascending
 */
record FamilyCover(Protocol protocol, PortRange ports, boolean ipv6, List<Integer> indices) {
  private static final int SHOWN = 4;

  /** The first whole-family cover among {@code allowances}, if any. */
  static Optional<FamilyCover> find(List<Allowance> allowances) {
    for (Protocol protocol : Protocol.values()) {
      for (boolean ipv6 : new boolean[] {false, true}) {
        Optional<FamilyCover> found = find(allowances, protocol, ipv6);
        if (found.isPresent()) {
          return found;
        }
      }
    }
    return Optional.empty();
  }

  /**
   * What is wrong, for a message: "the networks 0.0.0.0/1, 128.0.0.0/1 together allow every IPv4
   * address ...". {@code where} names them in the caller's terms, such as their lines.
   */
  String message(List<Allowance> allowances, String where) {
    String networks =
        shortList(indices.stream().map(i -> allowances.get(i).destination().toString()).toList());
    return where
        + " ("
        + networks
        + ") together allow every "
        + (ipv6 ? "IPv6" : "IPv4")
        + " address for "
        + protocol.keyword()
        + (ports.isSinglePort() ? " port " : " ports ")
        + ports
        + ", as a /0 network would: if that is really meant, write 'allow "
        + Destination.UnsafeAnyAddress.KEYWORD
        + " port "
        + ports
        + (protocol == Protocol.TCP ? "" : " proto " + protocol.keyword())
        + "'";
  }

  /** {@code a, b, c, d and 3 more}: lists for messages stay short whatever the policy. */
  static String shortList(List<String> items) {
    String shown = String.join(", ", items.subList(0, Math.min(SHOWN, items.size())));
    return items.size() <= SHOWN ? shown : shown + " and " + (items.size() - SHOWN) + " more";
  }

  private static Optional<FamilyCover> find(
      List<Allowance> allowances, Protocol protocol, boolean ipv6) {
    int bits = ipv6 ? 128 : 32;
    BigInteger space = BigInteger.ONE.shiftLeft(bits);
    List<Integer> networks = new ArrayList<>();
    // Port -> change in the number of allowances that exempt it (unsafe-any-address, port 53).
    TreeMap<Integer, Integer> exempting = new TreeMap<>();
    exempting.merge(PortRange.DNS_PORT, 1, Integer::sum);
    exempting.merge(PortRange.DNS_PORT + 1, -1, Integer::sum);
    for (int i = 0; i < allowances.size(); i++) {
      Allowance allowance = allowances.get(i);
      if (allowance.protocol() != protocol) {
        continue;
      }
      if (allowance.destination() instanceof Destination.Network network
          && network.network().isIpv6() == ipv6) {
        networks.add(i);
      } else if (allowance.destination() instanceof Destination.UnsafeAnyAddress) {
        exempting.merge(allowance.ports().first(), 1, Integer::sum);
        exempting.merge(allowance.ports().last() + 1, -1, Integer::sum);
      }
    }
    if (networks.isEmpty()) {
      return Optional.empty();
    }
    BigInteger[] starts = new BigInteger[networks.size()];
    BigInteger[] ends = new BigInteger[networks.size()];
    TreeSet<BigInteger> points = new TreeSet<>(List.of(BigInteger.ZERO, space));
    TreeMap<Integer, List<Integer>> changes = new TreeMap<>();
    for (int n = 0; n < networks.size(); n++) {
      Allowance allowance = allowances.get(networks.get(n));
      IpNetwork network = ((Destination.Network) allowance.destination()).network();
      starts[n] = new BigInteger(1, network.address().getAddress());
      ends[n] = starts[n].add(BigInteger.ONE.shiftLeft(bits - network.prefixLength()));
      points.add(starts[n]);
      points.add(ends[n]);
      // n + 1 added at the first port, -(n + 1) removed after the last.
      changes.computeIfAbsent(allowance.ports().first(), p -> new ArrayList<>()).add(n + 1);
      changes.computeIfAbsent(allowance.ports().last() + 1, p -> new ArrayList<>()).add(-(n + 1));
    }
    BigInteger[] coordinates = points.toArray(BigInteger[]::new);
    Coverage coverage = new Coverage(coordinates.length - 1);
    boolean[] active = new boolean[networks.size()];
    TreeSet<Integer> boundaries = new TreeSet<>(changes.keySet());
    boundaries.addAll(exempting.keySet());
    int exempt = 0;
    for (int port : boundaries.headSet(65535, true)) {
      exempt += exempting.getOrDefault(port, 0);
      for (int change : changes.getOrDefault(port, List.of())) {
        int n = Math.abs(change) - 1;
        active[n] = change > 0;
        coverage.add(
            Arrays.binarySearch(coordinates, starts[n]),
            Arrays.binarySearch(coordinates, ends[n]),
            change > 0 ? 1 : -1);
      }
      if (coverage.isFull() && exempt == 0) {
        Integer next = boundaries.higher(port);
        PortRange ports = new PortRange(port, next == null ? 65535 : next - 1);
        List<Integer> cover = smallestCover(networks, starts, ends, active, space);
        return Optional.of(new FamilyCover(protocol, ports, ipv6, cover));
      }
    }
    return Optional.empty();
  }

  /**
   * The fewest active networks that cover [0, space): prefixes nest or are disjoint, so taking at
   * each point the active network that starts there and reaches furthest is optimal.
   */
  private static List<Integer> smallestCover(
      List<Integer> networks,
      BigInteger[] starts,
      BigInteger[] ends,
      boolean[] active,
      BigInteger space) {
    List<Integer> byStart = new ArrayList<>();
    for (int n = 0; n < active.length; n++) {
      if (active[n]) {
        byStart.add(n);
      }
    }
    byStart.sort(
        Comparator.<Integer, BigInteger>comparing(n -> starts[n])
            .thenComparing(n -> ends[n], Comparator.reverseOrder()));
    List<Integer> cover = new ArrayList<>();
    BigInteger reached = BigInteger.ZERO;
    for (int n : byStart) {
      if (reached.equals(space)) {
        break;
      }
      if (starts[n].equals(reached)) {
        cover.add(networks.get(n));
        reached = ends[n];
      }
    }
    return cover.stream().sorted().collect(Collectors.toUnmodifiableList());
  }

  /**
   * Which of the elementary intervals between consecutive coordinates are covered, counted per
   * segment-tree node: a node is full when an interval spans it or both its children are full.
   */
  private static final class Coverage {
    private final int leaves;
    private final int[] count;
    private final boolean[] full;

    Coverage(int leaves) {
      this.leaves = leaves;
      this.count = new int[4 * leaves];
      this.full = new boolean[4 * leaves];
    }

    /** Adds {@code delta} to the cover count of leaves [from, to). */
    void add(int from, int to, int delta) {
      add(1, 0, leaves, from, to, delta);
    }

    boolean isFull() {
      return full[1];
    }

    private void add(int node, int low, int high, int from, int to, int delta) {
      if (to <= low || high <= from) {
        return;
      }
      if (from <= low && high <= to) {
        count[node] += delta;
      } else {
        int middle = (low + high) >>> 1;
        add(2 * node, low, middle, from, to, delta);
        add(2 * node + 1, middle, high, from, to, delta);
      }
      full[node] = count[node] > 0 || (high - low > 1 && full[2 * node] && full[2 * node + 1]);
    }
  }
}
