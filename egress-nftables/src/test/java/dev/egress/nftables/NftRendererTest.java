package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.audit.NflogGroups;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Golden output of the renderer: what one attach, refresh, removal and prepare load. */
class NftRendererTest {
  private static final NftRenderer RENDERER = new NftRenderer("egress");
  private static final HostName API = HostName.of("api.anthropic.com");

  private static Rules nanoclawLike(boolean log) {
    ContainerEndpoint endpoint =
        new ContainerEndpoint(
            ContainerId.of("agent-1"),
            List.of(IpAddresses.parse("172.17.0.2"), IpAddresses.parse("fd00:17::2")),
            IpAddresses.parse("172.17.0.1"));
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host(API.ascii()), 443)
            .allowTcp(Destination.gateway(), 3001)
            .allow(Destination.network("fd00:99::/64"), Protocol.UDP, new PortRange(1, 65535))
            .dns(DnsRule.servers(IpAddresses.parse("10.0.0.53"), IpAddresses.parse("10.0.0.9")))
            .logDenied(log)
            .build();
    Resolutions resolutions =
        new Resolutions(
            Map.of(
                API,
                Set.of(IpAddresses.parse("160.79.104.10"), IpAddresses.parse("2607:6bc0::10"))));
    return new Rules(ChainName.forContainer(endpoint.id()), endpoint, policy, resolutions);
  }

  @Test
  void ruleSetName_keepsSafeCharacters_andAddsAHashOfTheWholeId() {
    String name = ChainName.forContainer(ContainerId.of("agent-1")).value();
    assertTrue(name.startsWith("c_agent_1_"), name);
    assertTrue(ChainName.parse(name).isPresent(), name);
    assertFalse(
        ChainName.forContainer(ContainerId.of("agent_1")).value().equals(name),
        "'-' and '_' must not collide");
  }

  @Test
  void hostSetsAndEarlierPerNameSets_areKnownAsTheirChains_andOtherSetsAsNoChains() {
    ChainName chain = ChainName.forContainer(ContainerId.of("agent-1"));
    for (Family family : Family.values()) {
      for (boolean ranges : List.of(false, true)) {
        String set = chain.setName(family, ranges);
        assertEquals(java.util.Optional.of(chain), ChainName.ofSet(set));
        assertTrue(ChainName.isHostSet(set), set);
        assertEquals(ranges, ChainName.holdsRanges(set), set);
      }
    }
    assertEquals(chain.value() + "_4", chain.setName(Family.IPV4, false));
    assertEquals(chain.value() + "_r6", chain.setName(Family.IPV6, true));
    for (String earlier : List.of("_h3_6", "_t0_4")) {
      assertEquals(java.util.Optional.of(chain), ChainName.ofSet(chain.value() + earlier));
      assertFalse(ChainName.isHostSet(chain.value() + earlier), earlier);
    }
    assertEquals(java.util.Optional.empty(), ChainName.ofSet("links"));
    assertEquals(java.util.Optional.empty(), ChainName.ofSet(chain.value() + "_hand_made"));
  }

  @Test
  void aRuleSetNameThatIsNotOneOfThisBackendsChains_isRefused() {
    Rules ours = nanoclawLike(false);
    for (String foreign : List.of("forward", "c_agent", "agent-1", "c_x_0123456789AB")) {
      Rules rules = new Rules(() -> foreign, ours.container(), ours.policy(), ours.resolutions());
      assertThrows(
          IllegalArgumentException.class,
          () -> RENDERER.install(rules.chain(), rules.plan()),
          foreign);
      assertTrue(ChainName.parse(foreign).isEmpty(), foreign);
    }
  }

  @Test
  void install_goldenText() {
    Rules rules = nanoclawLike(true);
    String n = rules.name().value();
    String expected =
        ""
            + "add chain inet egress "
            + n
            + "\n"
            + "flush chain inet egress "
            + n
            + "\n"
            + "add set inet egress "
            + n
            + "_4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }\n"
            + "flush set inet egress "
            + n
            + "_4\n"
            + "add element inet egress "
            + n
            + "_4 { 160.79.104.10 . tcp . 443 }\n"
            + "add set inet egress "
            + n
            + "_6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }\n"
            + "flush set inet egress "
            + n
            + "_6\n"
            + "add element inet egress "
            + n
            + "_6 { 2607:6bc0::10 . tcp . 443 }\n"
            + "add rule inet egress "
            + n
            + " ct state established ct direction original counter accept\n"
            + "add rule inet egress "
            + n
            + " ip daddr { 10.0.0.9, 10.0.0.53 } meta l4proto { tcp, udp }"
            + " th dport 53 counter accept\n"
            + "add rule inet egress "
            + n
            + " ip daddr 172.17.0.1 tcp dport 3001 counter accept\n"
            + "add rule inet egress "
            + n
            + " ip6 daddr fd00:99::/64 udp dport { 1-52, 54-65535 }"
            + " counter accept\n"
            + "add rule inet egress "
            + n
            + " ip daddr . meta l4proto . th dport @"
            + n
            + "_4 counter accept\n"
            + "add rule inet egress "
            + n
            + " ip6 daddr . meta l4proto . th dport @"
            + n
            + "_6 counter accept\n"
            + "add rule inet egress "
            + n
            + " meta l4proto { tcp, udp } th dport 53 limit rate 50/second burst 100 packets"
            + " log group 2161 counter goto deny\n"
            + "add rule inet egress "
            + n
            + " meta l4proto { tcp, udp } th dport 53 counter goto deny\n"
            + "add rule inet egress "
            + n
            + " limit rate 50/second burst 100 packets log group 2160 counter goto deny\n"
            + "add rule inet egress "
            + n
            + " counter goto deny\n"
            + "add element inet egress src4 { 172.17.0.2 : jump "
            + n
            + " }\n"
            + "delete element inet egress src4 { 172.17.0.2 }\n"
            + "add element inet egress src4 { 172.17.0.2 : jump "
            + n
            + " }\n"
            + "add element inet egress src6 { fd00:17::2 : jump "
            + n
            + " }\n"
            + "delete element inet egress src6 { fd00:17::2 }\n"
            + "add element inet egress src6 { fd00:17::2 : jump "
            + n
            + " }\n";
    assertEquals(expected, RENDERER.install(rules.chain(), rules.plan()));
  }

  @Test
  void install_withoutLogging_endsInAPlainGotoDeny() {
    List<String> rules = nanoclawLike(false).chainRules();
    assertEquals("counter goto deny", rules.get(rules.size() - 1));
  }

  @Test
  void install_withUnknownGateway_allowsNothingTowardsTheGateway() {
    Rules known = nanoclawLike(false);
    ContainerEndpoint noGateway =
        new ContainerEndpoint(ContainerId.of("agent-1"), known.container().addresses(), null);
    Rules rules = new Rules(known.name(), noGateway, known.policy(), known.resolutions());
    assertFalse(
        RENDERER.install(rules.chain(), rules.plan()).contains("172.17.0.1"),
        RENDERER.install(rules.chain(), rules.plan()));
  }

  @Test
  void install_ofANameThatResolvesToNothing_loadsEmptySets() {
    Rules resolved = nanoclawLike(false);
    Rules rules =
        new Rules(resolved.name(), resolved.container(), resolved.policy(), Resolutions.none());
    String script = RENDERER.install(rules.chain(), rules.plan());
    assertFalse(script.contains("add element inet egress " + rules.name() + "_"), script);
    assertTrue(script.contains("flush set inet egress " + rules.name() + "_4\n"), script);
    assertTrue(script.contains("flush set inet egress " + rules.name() + "_6\n"), script);
  }

  @Test
  void refresh_refillsTheHostSets_whenAChangedNameIsTheRuleSets() {
    Rules rules = nanoclawLike(false);
    String n = rules.name().value();
    assertEquals(
        ""
            + "add set inet egress "
            + n
            + "_4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }\n"
            + "flush set inet egress "
            + n
            + "_4\n"
            + "add element inet egress "
            + n
            + "_4 { 160.79.104.10 . tcp . 443 }\n"
            + "add set inet egress "
            + n
            + "_6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }\n"
            + "flush set inet egress "
            + n
            + "_6\n"
            + "add element inet egress "
            + n
            + "_6 { 2607:6bc0::10 . tcp . 443 }\n",
        RENDERER.refresh(rules.chain(), rules.plan(), Set.of(API), Instant.EPOCH));
    assertEquals(
        "",
        RENDERER.refresh(
            rules.chain(), rules.plan(), Set.of(HostName.of("other.example")), Instant.EPOCH));
  }

  @Test
  void remove_deletesElementsBeforeTheChain_andTheChainBeforeItsSets_noneOfThemNeedingToExist() {
    ChainName chain = ChainName.forContainer(ContainerId.of("agent-1"));
    String n = chain.value();
    assertEquals(
        ""
            + "add element inet egress src4 { 172.17.0.2 : jump "
            + n
            + " }\n"
            + "delete element inet egress src4 { 172.17.0.2 }\n"
            + "add chain inet egress "
            + n
            + "\n"
            + "flush chain inet egress "
            + n
            + "\n"
            + "delete chain inet egress "
            + n
            + "\n"
            + "add set inet egress "
            + n
            + "_4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }\n"
            + "delete set inet egress "
            + n
            + "_4\n"
            + "delete set inet egress "
            + n
            + "_h0_4\n"
            + "delete set inet egress "
            + n
            + "_hand_made\n",
        RENDERER.remove(
            chain,
            List.of(IpAddresses.parse("172.17.0.2")),
            List.of(n + "_4", n + "_h0_4", n + "_hand_made"),
            List.of()));
  }

  @Test
  void install_dropsTheStaleElementsAndSetsItIsGiven_afterLoadingTheRuleSet() {
    Rules rules = nanoclawLike(false);
    String n = rules.name().value();
    String fresh = rules.install(RENDERER);

    String withStale =
        RENDERER.install(
            rules.chain(),
            rules.plan(),
            List.of(IpAddresses.parse("fd00:17::9")),
            List.of(n + "_h1_6"),
            List.of(),
            List.of(),
            Instant.EPOCH);

    assertEquals(
        fresh
            + "add element inet egress src6 { fd00:17::9 : jump "
            + n
            + " }\n"
            + "delete element inet egress src6 { fd00:17::9 }\n"
            + "delete set inet egress "
            + n
            + "_h1_6\n",
        withStale);
  }

  @Test
  void prepare_goldenText_withGuard() {
    NftGuard guard =
        new NftGuard(
            List.of("docker0"),
            List.of(IpNetwork.parse("172.17.0.0/16"), IpNetwork.parse("fd00:17::/64")),
            true);
    // Networks first (unattached addresses), then the bridge: what else comes from it is forged.
    // Logged up to the limit, then refused unlogged: each refusal is two rules.
    String limit = "limit rate 50/second burst 100 packets ";
    String expected =
        ""
            + "table inet egress {\n"
            + "  map src4 { type ipv4_addr : verdict; }\n"
            + "  map src6 { type ipv6_addr : verdict; }\n"
            + "  set links { type ifname; }\n"
            + "  set redirect4 { type ipv4_addr; }\n"
            + "  set redirect6 { type ipv6_addr; }\n"
            + "  chain dns { type nat hook prerouting priority dstnat - 10; policy accept; }\n"
            + "  chain deny { }\n"
            + "  chain forward { type filter hook forward priority filter - 10; policy accept; }\n"
            + "  chain input { type filter hook input priority filter - 10; policy accept; }\n"
            + "}\n"
            + "flush chain inet egress deny\n"
            + "flush chain inet egress forward\n"
            + "flush chain inet egress input\n"
            + "flush chain inet egress dns\n"
            + "add rule inet egress deny meta l4proto tcp counter reject with tcp reset\n"
            + "add rule inet egress deny counter reject with icmpx admin-prohibited\n"
            + "add rule inet egress forward ip saddr vmap @src4\n"
            + "add rule inet egress forward ip6 saddr vmap @src6\n"
            + "add rule inet egress forward ip saddr 172.17.0.0/16 "
            + limit
            + "log group 2162 counter goto deny\n"
            + "add rule inet egress forward ip saddr 172.17.0.0/16 counter goto deny\n"
            + "add rule inet egress forward ip6 saddr fd00:17::/64 "
            + limit
            + "log group 2162 counter goto deny\n"
            + "add rule inet egress forward ip6 saddr fd00:17::/64 counter goto deny\n"
            + "add rule inet egress forward iifname \"docker0\" "
            + limit
            + "log group 2163 counter goto deny\n"
            + "add rule inet egress forward iifname \"docker0\" counter goto deny\n"
            + "add rule inet egress input iif \"lo\" accept\n"
            + "add rule inet egress input icmpv6 type { nd-router-solicit, nd-neighbor-solicit,"
            + " nd-neighbor-advert } accept\n"
            + "add rule inet egress input ip6 saddr fe80::/10 iifname @links "
            + limit
            + "log group 2160 counter goto deny\n"
            + "add rule inet egress input ip6 saddr fe80::/10 iifname @links counter goto deny\n"
            + "add rule inet egress input ip saddr 169.254.0.0/16 iifname @links "
            + limit
            + "log group 2160 counter goto deny\n"
            + "add rule inet egress input ip saddr 169.254.0.0/16 iifname @links"
            + " counter goto deny\n"
            + "add rule inet egress input ct state established ct direction reply"
            + " fib saddr . iif oif exists accept\n"
            + "add rule inet egress input ip saddr vmap @src4\n"
            + "add rule inet egress input ip6 saddr vmap @src6\n"
            + "add rule inet egress input ip saddr 172.17.0.0/16 "
            + limit
            + "log group 2162 counter goto deny\n"
            + "add rule inet egress input ip saddr 172.17.0.0/16 counter goto deny\n"
            + "add rule inet egress input ip6 saddr fd00:17::/64 "
            + limit
            + "log group 2162 counter goto deny\n"
            + "add rule inet egress input ip6 saddr fd00:17::/64 counter goto deny\n"
            + "add rule inet egress input iifname \"docker0\" "
            + limit
            + "log group 2163 counter goto deny\n"
            + "add rule inet egress input iifname \"docker0\" counter goto deny\n";
    assertEquals(expected, RENDERER.prepare(guard, null));
  }

  @Test
  void tableName_thatIsNotASafeIdentifier_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new NftRenderer("egress; flush ruleset"));
    assertThrows(IllegalArgumentException.class, () -> new NftRenderer("Egress"));
    assertThrows(IllegalArgumentException.class, () -> new NftRenderer(""));
  }

  @Test
  void install_withLearnedLinks_addsThemToTheContainerLinks() {
    Rules rules = nanoclawLike(false);
    assertEquals(
        rules.install(RENDERER) + "add element inet egress links { \"docker0\", \"br-1\" }\n",
        RENDERER.install(
            rules.chain(),
            rules.plan(),
            List.of(),
            List.of(),
            List.of(),
            List.of("docker0", "br-1"),
            Instant.EPOCH));
  }

  @Test
  void guardOnLo_isRefused_withWhatToNameInstead() {
    for (String lo : List.of("lo", "lo*", "l*")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> new NftGuard(List.of(lo), List.of(), false));
      assertTrue(e.getMessage().contains("host's own traffic"), e.getMessage());
      assertTrue(e.getMessage().contains("docker0"), e.getMessage());
    }
    new NftGuard(List.of("lxcbr0", "local0", "br-*"), List.of(), false);
  }

  @Test
  void guardNetworks_thatCoverAWholeFamily_areRefused_aloneOrTogether() {
    for (List<String> networks :
        List.of(
            List.of("0.0.0.0/0"),
            List.of("::/0"),
            List.of("0.0.0.0/1", "128.0.0.0/1"),
            List.of("8000::/1", "fd00:17::/64", "::/1"))) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new NftGuard(List.of(), networks.stream().map(IpNetwork::parse).toList(), false));
      assertTrue(e.getMessage().contains("cover every"), e.getMessage());
      assertTrue(e.getMessage().contains("replies to the host's own connections"), e.getMessage());
    }
    new NftGuard(
        List.of(),
        List.of(
            IpNetwork.parse("0.0.0.0/1"),
            IpNetwork.parse("128.0.0.0/2"),
            IpNetwork.parse("fd00::/8")),
        false);
  }

  @Test
  void guardInterfaceName_withQuotesOrSpaces_isRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new NftGuard(List.of("br0\" accept"), List.of(), false));
    assertThrows(
        IllegalArgumentException.class,
        () -> new NftGuard(List.of("a-name-longer-than-15"), List.of(), false));
  }

  @Test
  void underDnsFilter_setsTakeGrantsWithATimeout_andResolvedAddressesKeepNone() throws Exception {
    InetAddress filter = IpAddresses.parse("10.213.0.1");
    InetAddress resolved = IpAddresses.parse("192.0.2.10");
    InetAddress granted = IpAddresses.parse("192.0.2.11");
    HostName name = HostName.of("api.example.com");
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    ContainerEndpoint box =
        new ContainerEndpoint(
            ContainerId.of("box"), List.of(IpAddresses.parse("10.213.0.2")), filter);
    EnforcementPlan plan =
        EnforcementPlan.of(
                PolicyText.parse("allow api.example.com port 443\ndns filter\n", "test"),
                box,
                Resolutions.none().with(name, Set.of(resolved)),
                filter)
            .withGrants(
                Map.of(
                    name,
                    Map.of(
                        resolved,
                        now.plusSeconds(60),
                        granted,
                        now.plusMillis(1500),
                        IpAddresses.parse("192.0.2.12"),
                        now)));
    ChainName chain = ChainName.forContainer(box.id());
    String set = chain.setName(Family.IPV4, false);

    String install = RENDERER.install(chain, plan, List.of(), List.of(), List.of(), List.of(), now);

    assertTrue(
        install.contains(
            "add set inet egress "
                + set
                + " { type ipv4_addr . inet_proto . inet_service; flags timeout; }\n"
                + "flush set inet egress "
                + set
                + "\n"
                + "add element inet egress "
                + set
                + " { 192.0.2.10 . tcp . 443 }\n"
                + "add element inet egress "
                + set
                + " { 192.0.2.11 . tcp . 443 timeout 1500ms }\n"),
        install);
    assertTrue(install.contains("add element inet egress redirect4 { 10.213.0.2 }\n"), install);
    assertEquals(
        "add element inet egress "
            + set
            + " { 192.0.2.11 . tcp . 443 timeout 30000ms }\n"
            + "delete element inet egress "
            + set
            + " { 192.0.2.11 . tcp . 443 }\n"
            + "add element inet egress "
            + set
            + " { 192.0.2.11 . tcp . 443 timeout 30000ms }\n",
        RENDERER.grant(
            chain,
            plan,
            Map.of(name, Map.of(granted, now.plusSeconds(30), resolved, now.plusSeconds(30))),
            now));
    // Where the kernel replaces an end on a second add that gives it (Linux 6.12 on), one add.
    assertEquals(
        "add element inet egress "
            + set
            + " { 192.0.2.11 . tcp . 443 timeout 30000ms expires 30000ms }\n",
        new NftRenderer("egress", NflogGroups.defaults(), TimeoutRenewal.ADD_REPLACES)
            .grant(
                chain,
                plan,
                Map.of(name, Map.of(granted, now.plusSeconds(30), resolved, now.plusSeconds(30))),
                now));
    assertEquals(
        List.of("ip saddr @redirect4 meta l4proto { tcp, udp } th dport 53 dnat ip to 10.213.0.1"),
        NftRenderer.dnsChainRules(filter));
    assertEquals(List.of(), NftRenderer.dnsChainRules(null));
  }

  @Test
  void hostLinesWithRangesOfPorts_addIntervalSets_andAGrantGoesToTheSetOfEachPiece()
      throws Exception {
    InetAddress filter = IpAddresses.parse("10.213.0.1");
    InetAddress address = IpAddresses.parse("192.0.2.11");
    HostName name = HostName.of("api.example.com");
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    ContainerEndpoint box =
        new ContainerEndpoint(
            ContainerId.of("box"), List.of(IpAddresses.parse("10.213.0.2")), filter);
    EnforcementPlan plan =
        EnforcementPlan.of(
            PolicyText.parse(
                "allow api.example.com port 8000-8100\nallow cdn.example.com port 8080\n"
                    + "dns filter\n",
                "test"),
            box,
            Resolutions.none(),
            filter);
    ChainName chain = ChainName.forContainer(box.id());
    String n = chain.value();

    List<String> hostSetRules = RENDERER.chainRules(chain, plan).subList(2, 6);
    String key = planComment(hostSetRules.get(0));
    assertEquals(
        List.of(
            "ip daddr . meta l4proto . th dport @" + n + "_4 counter accept" + key,
            "ip daddr . meta l4proto . th dport @" + n + "_r4 counter accept" + key,
            "ip6 daddr . meta l4proto . th dport @" + n + "_6 counter accept" + key,
            "ip6 daddr . meta l4proto . th dport @" + n + "_r6 counter accept" + key),
        hostSetRules);
    assertTrue(
        RENDERER
            .install(chain, plan)
            .contains(
                "add set inet egress "
                    + n
                    + "_r4 { type ipv4_addr . inet_proto . inet_service;"
                    + " flags interval, timeout; }\n"),
        RENDERER.install(chain, plan));
    assertEquals(
        ""
            + "add element inet egress "
            + n
            + "_4 { 192.0.2.11 . tcp . 8080 timeout 5000ms }\n"
            + "delete element inet egress "
            + n
            + "_4 { 192.0.2.11 . tcp . 8080 }\n"
            + "add element inet egress "
            + n
            + "_4 { 192.0.2.11 . tcp . 8080 timeout 5000ms }\n"
            + "add element inet egress "
            + n
            + "_r4 { 192.0.2.11 . tcp . 8000-8079 timeout 5000ms,"
            + " 192.0.2.11 . tcp . 8081-8100 timeout 5000ms }\n"
            + "delete element inet egress "
            + n
            + "_r4 { 192.0.2.11 . tcp . 8000-8079, 192.0.2.11 . tcp . 8081-8100 }\n"
            + "add element inet egress "
            + n
            + "_r4 { 192.0.2.11 . tcp . 8000-8079 timeout 5000ms,"
            + " 192.0.2.11 . tcp . 8081-8100 timeout 5000ms }\n",
        RENDERER.grant(chain, plan, Map.of(name, Map.of(address, now.plusSeconds(5))), now));
  }

  /** The plan's key that ends {@code rule}, checked for form: {@code comment "plan <32 hex>"}. */
  private static String planComment(String rule) {
    Matcher key = Pattern.compile(" comment \"plan [0-9a-f]{32}\"$").matcher(rule);
    assertTrue(key.find(), rule);
    return key.group();
  }

  @Test
  void theHostSetRulesKey_changesWithTheNamesAndSources_notWithAddressesOrGrants()
      throws Exception {
    InetAddress filter = IpAddresses.parse("10.213.0.1");
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    ChainName chain = ChainName.forContainer(ContainerId.of("box"));
    HostName name = HostName.of("a.example.com");
    BiFunction<String, String, EnforcementPlan> plan =
        (policy, source) -> {
          try {
            return EnforcementPlan.of(
                PolicyText.parse(policy + "dns filter\n", "test"),
                new ContainerEndpoint(
                    ContainerId.of("box"), List.of(IpAddresses.parse(source)), filter),
                Resolutions.none(),
                filter);
          } catch (PolicySyntaxException e) {
            throw new AssertionError(e);
          }
        };
    EnforcementPlan base = plan.apply("allow a.example.com port 443\n", "10.213.0.2");
    Function<EnforcementPlan, String> key = p -> planComment(RENDERER.chainRules(chain, p).get(2));

    assertEquals(
        key.apply(base),
        key.apply(base.withGrants(Map.of(name, Map.of(IpAddresses.parse("192.0.2.1"), now)))),
        "grants are no part of it");
    assertEquals(
        key.apply(base),
        key.apply(
            EnforcementPlan.of(
                PolicyText.parse("allow a.example.com port 443\ndns filter\n", "test"),
                new ContainerEndpoint(
                    ContainerId.of("box"), List.of(IpAddresses.parse("10.213.0.2")), filter),
                Resolutions.none().with(name, Set.of(IpAddresses.parse("192.0.2.2"))),
                filter)),
        "nor are resolved addresses");
    assertNotEquals(
        key.apply(base), key.apply(plan.apply("allow b.example.com port 443\n", "10.213.0.2")));
    assertNotEquals(
        key.apply(base), key.apply(plan.apply("allow a.example.com port 443\n", "10.213.0.3")));
    assertNotEquals(
        key.apply(base), key.apply(plan.apply("allow a.example.com port 80\n", "10.213.0.2")));
  }

  @Test
  void theHostSetRulesKey_ofAFixedPlan_staysTheSame() throws Exception {
    // A change of the text the key is made of (HostSets.keyText, the rules' form) changes every
    // key, and a restarted enforcer then takes over no grant: make such a change knowingly.
    InetAddress filter = IpAddresses.parse("10.213.0.1");
    EnforcementPlan plan =
        EnforcementPlan.of(
            PolicyText.parse(
                "allow api.example.com port 443\nallow *.cdn.example.com port 8000-8100\n"
                    + "dns filter\n",
                "test"),
            new ContainerEndpoint(
                ContainerId.of("box"),
                List.of(IpAddresses.parse("10.213.0.2"), IpAddresses.parse("fd00:213::2")),
                filter),
            Resolutions.none(),
            filter);

    assertEquals(
        " comment \"plan 7616500c48993bbe2c85f7460e7b07a4\"",
        planComment(
            RENDERER.chainRules(ChainName.forContainer(ContainerId.of("box")), plan).get(2)));
  }
}
