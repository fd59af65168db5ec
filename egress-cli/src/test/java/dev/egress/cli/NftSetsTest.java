package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NftSetsTest {
  /** As nft 1.0.6 prints a table (tabs), with one element list wrapped over lines. */
  private static final String LISTING = """
      table inet egress {
      \tset c_a_1_h0_4 {
      \t\ttype ipv4_addr
      \t\telements = { 10.99.0.11, 10.99.0.12,
      \t\t\t     10.99.0.13 }
      \t}

      \tset c_a_1_h0_6 {
      \t\ttype ipv6_addr
      \t}

      \tchain forward {
      \t\ttype filter hook forward priority filter - 10; policy accept;
      \t\tip saddr vmap @src4
      \t}

      \tchain c_a_1 {
      \t\tct state established ct direction original accept
      \t\tip daddr @c_a_1_h0_4 tcp dport 443 accept
      \t\tjump deny
      \t}
      }
      """;

  @Test
  void parse_readsElementsIncludingWrappedListsAndEmptySets() {
    Map<String, List<String>> expected = new LinkedHashMap<>();
    expected.put("c_a_1_h0_4", List.of("10.99.0.11", "10.99.0.12", "10.99.0.13"));
    expected.put("c_a_1_h0_6", List.of());

    assertEquals(expected, NftSets.parse(LISTING));
  }

  @Test
  void ruleCount_countsRulesNotTheChainHeader() {
    assertEquals(3, NftSets.ruleCount(LISTING, "c_a_1"));
    assertEquals(1, NftSets.ruleCount(LISTING, "forward"));
    assertEquals(0, NftSets.ruleCount(LISTING, "c_absent"));
  }

  @Test
  void parse_emptyListing_hasNoSets() {
    assertEquals(Map.of(), NftSets.parse(""));
  }
}
