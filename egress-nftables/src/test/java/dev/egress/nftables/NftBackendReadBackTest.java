package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.IpAddresses;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NftBackend#loaded} and {@link NftBackend#tableLoaded} over a stand-in nft that prints a
 * listing.
 */
class NftBackendReadBackTest {
  /** As nft 1.0.6 prints a table (tabs), with a set's element list wrapped over lines. */
  private static final String LISTING =
      """
      table inet egress {
      \tmap src4 {
      \t\ttype ipv4_addr : verdict
      \t\telements = { 10.77.0.2 : jump c_a_0123456789ab, 10.77.0.3 : jump c_b_0123456789ab }
      \t}

      \tset c_a_0123456789ab_4 {
      \t\ttype ipv4_addr . inet_proto . inet_service
      \t\tflags interval,timeout
      \t\telements = { 10.99.0.12 . tcp . 443, 10.99.0.11 . tcp . 443,
      \t\t\t     10.99.0.13 . tcp . 443, 10.99.0.9 . tcp . 443 timeout 1m expires 50s }
      \t}

      \tset c_a_0123456789ab_6 {
      \t\ttype ipv6_addr . inet_proto . inet_service
      \t\tflags interval,timeout
      \t}

      \tchain forward {
      \t\ttype filter hook forward priority filter - 10; policy accept;
      \t\tip saddr vmap @src4
      \t}

      \tchain c_a_0123456789ab {
      \t\tct state established ct direction original counter packets 9 bytes 900 accept
      \t\tip daddr . meta l4proto . th dport @c_a_0123456789ab_4 counter packets 4 bytes 240 accept
      \t\tcounter packets 1 bytes 60 goto deny
      \t}
      }
      """;

  @TempDir Path dir;

  private NftBackend backendPrinting(String stdout, int exit, String stderr) throws IOException {
    Path out = Files.writeString(dir.resolve("stdout"), stdout);
    Path err = Files.writeString(dir.resolve("stderr"), stderr);
    Path nft =
        Files.writeString(
            dir.resolve("nft"),
            "#!/bin/bash\ncat '" + out + "'\ncat '" + err + "' >&2\nexit " + exit + "\n");
    return new NftBackend(
        new NftCommand(
            new SystemProcessRunner(),
            List.of("bash", nft.toString()),
            List.of("false"),
            Duration.ofSeconds(10)),
        "egress",
        NftGuard.none());
  }

  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  @Test
  void loaded_readsEachRuleSetsAddressesRulesAndSets_andADispatchOnlyLeftover() throws Exception {
    NftBackend backend = backendPrinting(LISTING, 0, "");

    List<NftBackend.LoadedRuleSet> loaded = backend.loaded();

    // Without the grants (elements with a timeout), in address order, as nft lists them.
    Map<String, List<String>> sets = new LinkedHashMap<>();
    sets.put(
        "c_a_0123456789ab_4",
        List.of("10.99.0.11 . tcp . 443", "10.99.0.12 . tcp . 443", "10.99.0.13 . tcp . 443"));
    sets.put("c_a_0123456789ab_6", List.of());
    assertEquals(
        List.of(
            new NftBackend.LoadedRuleSet(
                new ChainName("c_a_0123456789ab"),
                List.of(ip("10.77.0.2")),
                List.of(
                    "ct state established ct direction original counter accept",
                    "ip daddr . meta l4proto . th dport @c_a_0123456789ab_4 counter accept",
                    "counter goto deny"),
                sets),
            new NftBackend.LoadedRuleSet(
                new ChainName("c_b_0123456789ab"), List.of(ip("10.77.0.3")), List.of(), Map.of())),
        loaded);
    assertEquals(
        Map.of(
            new ChainName("c_a_0123456789ab"),
            List.of(ip("10.77.0.2")),
            new ChainName("c_b_0123456789ab"),
            List.of(ip("10.77.0.3"))),
        backend.installed());
    assertTrue(backend.tableLoaded());
  }

  @Test
  void counters_sumEachContainerChainsAcceptAndDenyCounters() throws Exception {
    NftBackend backend = backendPrinting(LISTING, 0, "");

    assertEquals(
        Map.of(new ChainName("c_a_0123456789ab"), new TrafficCounters(13, 1140, 1, 60)),
        backend.counters());
  }

  @Test
  void countersAndLoaded_withACounterAtTheKernelsMaximum_readItAsLongsMaximum() throws Exception {
    // 2^64 - 1, which a root process can set: no NumberFormatException out of the read-back.
    NftBackend backend =
        backendPrinting(
            LISTING.replace("packets 9 bytes 900", "packets 18446744073709551615 bytes 900"),
            0,
            "");

    assertEquals(
        Map.of(new ChainName("c_a_0123456789ab"), new TrafficCounters(Long.MAX_VALUE, 1140, 1, 60)),
        backend.counters());
    assertEquals(2, backend.loaded().size());
  }

  @Test
  void loaded_whenTheTableIsMissing_isEmptyAndTheTableNotLoaded() throws Exception {
    NftBackend backend =
        backendPrinting("", 1, "Error: No such file or directory\nlist table inet egress\n");

    assertEquals(List.of(), backend.loaded());
    assertFalse(backend.tableLoaded());
  }

  @Test
  void loaded_whenNftFails_throws() throws Exception {
    NftBackend backend = backendPrinting("", 1, "Error: Operation not permitted\n");

    NftException e = assertThrows(NftException.class, backend::loaded);
    assertEquals(NftException.Kind.PERMISSION_DENIED, e.kind());
    assertThrows(NftException.class, backend::tableLoaded);
    assertThrows(NftException.class, backend::counters);
  }
}
