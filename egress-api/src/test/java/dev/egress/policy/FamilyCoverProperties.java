package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Random sets of short networks (so that they often add up to a whole family), on ports around 53,
 * against a brute-force oracle: a policy is refused exactly when, for some protocol and some port
 * other than 53 that no unsafe-any-address allowance opens, its networks hold every block of the
 * family's address space.
 */
class FamilyCoverProperties {
  private static final int FIRST_PORT = 50;
  private static final int LAST_PORT = 56;

  @Provide
  Arbitrary<List<Allowance>> allowanceSets() {
    Arbitrary<Destination> network =
        Combinators.combine(
                Arbitraries.of(false, false, true),
                Arbitraries.bytes().array(byte[].class).ofSize(16),
                Arbitraries.frequency(
                    net.jqwik.api.Tuple.of(4, 1),
                    net.jqwik.api.Tuple.of(4, 2),
                    net.jqwik.api.Tuple.of(2, 3),
                    net.jqwik.api.Tuple.of(1, 4)))
            .as(FamilyCoverProperties::network);
    Arbitrary<Destination> destination =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(12, network),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(new Destination.UnsafeAnyAddress())));
    Arbitrary<PortRange> ports =
        Combinators.combine(
                Arbitraries.integers().between(FIRST_PORT, LAST_PORT),
                Arbitraries.integers().between(FIRST_PORT, LAST_PORT))
            .as((a, b) -> new PortRange(Math.min(a, b), Math.max(a, b)))
            .filter(range -> !range.equals(PortRange.of(PortRange.DNS_PORT)));
    return Combinators.combine(destination, Arbitraries.of(Protocol.class), ports)
        .as(Allowance::new)
        .list()
        .ofMaxSize(12);
  }

  private static Destination network(boolean ipv6, byte[] random, int prefixLength) {
    byte[] bytes = new byte[ipv6 ? 16 : 4];
    System.arraycopy(random, 0, bytes, 0, bytes.length);
    for (int i = 0; i < bytes.length; i++) {
      int keep = Math.max(0, Math.min(8, prefixLength - 8 * i));
      bytes[i] &= (byte) (0xff << (8 - keep));
    }
    return new Destination.Network(new IpNetwork(IpAddresses.fromBytes(bytes), prefixLength));
  }

  @Property(tries = 3000)
  void aPolicy_isRefused_exactlyWhenItsNetworksCoverAFamilyForSomeProtocolAndPort(
      @ForAll("allowanceSets") List<Allowance> allowances) {
    boolean covers = coveringPort(allowances).isPresent();
    Statistics.label("covers a family").collect(covers);

    if (covers) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new EgressPolicy(allowances, DnsRule.none(), false));
      assertTrue(e.getMessage().contains("together allow every IPv"), e.getMessage());
      assertTrue(e.getMessage().contains("'allow unsafe-any-address port "), e.getMessage());
    } else {
      assertDoesNotThrow(() -> new EgressPolicy(allowances, DnsRule.none(), false));
    }
  }

  @Property(tries = 3000)
  void theCoverFound_coversItsFamily_onEveryPortItNames_andNoneOfItCanBeLeftOut(
      @ForAll("allowanceSets") List<Allowance> allowances) {
    Optional<FamilyCover> found = FamilyCover.find(allowances);
    assertEquals(coveringPort(allowances).isPresent(), found.isPresent());
    if (found.isEmpty()) {
      return;
    }
    FamilyCover cover = found.get();
    List<Allowance> chosen = cover.indices().stream().map(allowances::get).toList();
    for (int port = cover.ports().first(); port <= cover.ports().last(); port++) {
      assertTrue(
          port != PortRange.DNS_PORT && !opensAnyAddress(allowances, cover.protocol(), port));
      assertTrue(covers(chosen, cover.protocol(), port, cover.ipv6()), cover + " at " + port);
    }
    for (int left = 0; left < chosen.size(); left++) {
      List<Allowance> fewer = new ArrayList<>(chosen);
      fewer.remove(left);
      assertFalse(
          covers(fewer, cover.protocol(), cover.ports().first(), cover.ipv6()),
          "not smallest: " + cover);
    }
  }

  /** The first protocol and port where the networks cover a family, by brute force. */
  private static Optional<String> coveringPort(List<Allowance> allowances) {
    for (Protocol protocol : Protocol.values()) {
      for (int port = FIRST_PORT; port <= LAST_PORT; port++) {
        if (port == PortRange.DNS_PORT || opensAnyAddress(allowances, protocol, port)) {
          continue;
        }
        for (boolean ipv6 : new boolean[] {false, true}) {
          if (covers(allowances, protocol, port, ipv6)) {
            return Optional.of(protocol + " " + port + (ipv6 ? " IPv6" : " IPv4"));
          }
        }
      }
    }
    return Optional.empty();
  }

  private static boolean opensAnyAddress(List<Allowance> allowances, Protocol protocol, int port) {
    return allowances.stream()
        .anyMatch(
            a ->
                a.destination() instanceof Destination.UnsafeAnyAddress
                    && a.protocol() == protocol
                    && a.ports().contains(port));
  }

  /**
   * Whether the networks of {@code allowances} that hold {@code protocol} and {@code port} contain
   * the first address of every /4 block of the family: the generated networks are /1 to /4, so that
   * is every address.
   */
  private static boolean covers(
      List<Allowance> allowances, Protocol protocol, int port, boolean ipv6) {
    List<IpNetwork> networks =
        allowances.stream()
            .filter(a -> a.protocol() == protocol && a.ports().contains(port))
            .map(Allowance::destination)
            .filter(d -> d instanceof Destination.Network n && n.network().isIpv6() == ipv6)
            .map(d -> ((Destination.Network) d).network())
            .toList();
    int bits = ipv6 ? 128 : 32;
    for (int block = 0; block < 16; block++) {
      InetAddress first = address(BigInteger.valueOf(block).shiftLeft(bits - 4), bits / 8);
      if (networks.stream().noneMatch(n -> n.contains(first))) {
        return false;
      }
    }
    return true;
  }

  private static InetAddress address(BigInteger value, int length) {
    byte[] raw = value.toByteArray();
    byte[] bytes = new byte[length];
    int copy = Math.min(raw.length, length);
    System.arraycopy(raw, raw.length - copy, bytes, length - copy, copy);
    return IpAddresses.fromBytes(bytes);
  }
}
