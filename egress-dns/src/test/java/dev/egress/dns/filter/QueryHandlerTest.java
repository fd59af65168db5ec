package dev.egress.dns.filter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.dns.DnsNameResolver;
import dev.egress.dns.ManualClock;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.DnsVerdict;
import dev.egress.enforcer.EgressEvent;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.lab.dns.TestDnsServer.Behaviour;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The filter's answers against a real upstream server ({@link TestDnsServer}, which counts the
 * queries it gets) and the in-memory enforcer's grants, on a manual clock.
 */
class QueryHandlerTest {
  static final InetAddress FILTER = IpAddresses.parse("10.213.0.1");
  static final InetAddress BOX = IpAddresses.parse("10.213.0.3");
  static final Duration TTL = Duration.ofSeconds(60);
  static final Duration GRACE = Duration.ofMinutes(5);
  static final String POLICY =
      "allow api.example.com port 443\n" + "allow *.cdn.example port 443\n" + "dns filter\n";

  final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
  final List<EgressEvent> events = new CopyOnWriteArrayList<>();
  TestDnsServer upstream;
  DnsNameResolver resolver;
  InMemoryEgressEnforcer enforcer;
  QueryHandler handler;

  @BeforeEach
  void start() throws Exception {
    upstream = TestDnsServer.start();
    resolver =
        DnsNameResolver.builder()
            .servers(List.of(upstream.address()))
            .queryTimeout(Duration.ofMillis(500))
            .clock(clock)
            .build();
    enforcer =
        InMemoryEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .clock(clock)
            .dnsFilter(FILTER)
            .build();
    enforcer.attach(
        new ContainerEndpoint(ContainerId.of("c1"), List.of(BOX), FILTER), policy(POLICY));
    handler = newHandler(3);
  }

  @AfterEach
  void stop() {
    enforcer.close();
    resolver.close();
    upstream.close();
  }

  QueryHandler newHandler(int burstThreshold) {
    return new QueryHandler(
        enforcer,
        resolver,
        clock,
        GRACE,
        new BurstCounter(burstThreshold, Duration.ofMinutes(1)),
        events::add);
  }

  static EgressPolicy policy(String text) throws Exception {
    return PolicyText.parse(text, "test");
  }

  static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  Message ask(InetAddress source, String name, int type) throws Exception {
    Message query =
        Message.newQuery(Record.newRecord(Name.fromString(name, Name.root), type, DClass.IN));
    return new Message(handler.respond(source, query.toWire(), Transport.UDP));
  }

  Message ask(String name, int type) throws Exception {
    return ask(BOX, name, type);
  }

  boolean allows(String address) {
    return enforcer.wouldAllow(BOX, Flow.tcp(ip(address), 443));
  }

  static Set<String> addresses(Message response) {
    return response.getSection(Section.ANSWER).stream()
        .map(record -> IpAddresses.format(((ARecord) record).getAddress()))
        .collect(Collectors.toSet());
  }

  DnsVerdict lastVerdict() {
    return ((EgressEvent.DnsQueried) events.get(events.size() - 1)).verdict();
  }

  @Test
  void anAllowedName_isAnswered_andItsAddressesAreGrantedWithTheAnswer() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10", "192.0.2.11");
    assertFalse(allows("192.0.2.10"));

    Message response = ask("api.example.com", Type.A);

    assertEquals(Rcode.NOERROR, response.getRcode());
    assertEquals(Set.of("192.0.2.10", "192.0.2.11"), addresses(response));
    assertTrue(response.getSection(Section.ANSWER).stream().allMatch(r -> r.getTTL() == 60));
    assertTrue(allows("192.0.2.10") && allows("192.0.2.11"));
    assertFalse(enforcer.wouldAllow(BOX, Flow.tcp(ip("192.0.2.10"), 8443)));
    EgressEvent.DnsQueried event = (EgressEvent.DnsQueried) events.get(0);
    assertEquals("api.example.com", event.name());
    assertEquals("A", event.type());
    assertEquals(DnsVerdict.ANSWERED, event.verdict());
    assertEquals(Set.of(ip("192.0.2.10"), ip("192.0.2.11")), event.granted());
  }

  @Test
  void refusedNames_getNxdomain_andReachTheUpstreamZeroTimes() throws Exception {
    upstream.setAddresses("evil.example", TTL, "192.0.2.66");
    Random random = new Random(13);
    for (int i = 0; i < 1000; i++) {
      String label = Long.toString(random.nextLong() & Long.MAX_VALUE, 36);
      String name =
          label
              + (i % 3 == 0 ? ".evil.example" : i % 3 == 1 ? ".example.com" : ".cdn.example.evil");
      Message response = ask(name, i % 2 == 0 ? Type.A : Type.TXT);
      assertEquals(Rcode.NXDOMAIN, response.getRcode(), name);
      assertEquals(DnsVerdict.REFUSED_NAME, lastVerdict());
    }

    assertEquals(0, upstream.totalQueries());
    assertFalse(allows("192.0.2.66"));
  }

  @Test
  void aWildcard_allowsNamesBelowIt_butNotTheApex() throws Exception {
    upstream.setAddresses("img.cdn.example", TTL, "192.0.2.20");
    upstream.setAddresses("cdn.example", TTL, "192.0.2.21");

    assertEquals(Set.of("192.0.2.20"), addresses(ask("IMG.Cdn.Example", Type.A)));
    assertEquals(Rcode.NXDOMAIN, ask("cdn.example", Type.A).getRcode());

    assertTrue(allows("192.0.2.20"));
    assertFalse(allows("192.0.2.21"));
    assertEquals(0, upstream.queries("cdn.example"));
  }

  @Test
  void theAnswer_keepsTheCaseTheQueryUsed() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");

    Message response = ask("aPi.ExAmPlE.cOm", Type.A);

    assertEquals("aPi.ExAmPlE.cOm.", response.getQuestion().getName().toString());
    assertEquals(
        "aPi.ExAmPlE.cOm.", response.getSection(Section.ANSWER).get(0).getName().toString());
  }

  @Test
  void aCnameChain_isFollowed_andItsFinalAddressesGoToTheAskedName() throws Exception {
    upstream.setCname("a.cdn.example", "edge.provider.test", TTL);
    upstream.setAddresses("edge.provider.test", TTL, "192.0.2.30");

    Message response = ask("a.cdn.example", Type.A);

    assertEquals(Set.of("192.0.2.30"), addresses(response));
    assertEquals("a.cdn.example.", response.getSection(Section.ANSWER).get(0).getName().toString());
    assertTrue(allows("192.0.2.30"));
  }

  @Test
  void otherTypes_ofAnAllowedName_getNodata_withoutAnUpstreamQuery() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    for (int type : new int[] {Type.TXT, Type.MX, Type.CNAME, Type.ANY, Type.NULL}) {
      Message response = ask("api.example.com", type);
      assertEquals(Rcode.NOERROR, response.getRcode());
      assertTrue(response.getSection(Section.ANSWER).isEmpty());
      assertEquals(DnsVerdict.REFUSED_TYPE, lastVerdict());
    }
    assertEquals(0, upstream.totalQueries());
  }

  @Test
  void anUnknownSource_orAnotherDnsRule_getsRefused_andNothingGoesUpstream() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    enforcer.attach(
        new ContainerEndpoint(ContainerId.of("c2"), List.of(ip("10.213.0.4")), FILTER),
        policy("allow api.example.com port 443\ndns gateway\n"));

    assertEquals(Rcode.REFUSED, ask(ip("10.213.0.99"), "api.example.com", Type.A).getRcode());
    assertEquals(Rcode.REFUSED, ask(ip("10.213.0.4"), "api.example.com", Type.A).getRcode());

    assertEquals(0, upstream.totalQueries());
    assertTrue(events.isEmpty());
  }

  @Test
  void expiry_isTtlPlusGrace_andReAskingRefreshes() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    ask("api.example.com", Type.A);

    clock.advance(TTL.plus(GRACE).minusSeconds(1));
    assertTrue(allows("192.0.2.10"));
    clock.advance(Duration.ofSeconds(1));
    assertFalse(allows("192.0.2.10"));

    ask("api.example.com", Type.A);
    assertTrue(allows("192.0.2.10"));
    assertEquals(2, upstream.queries("api.example.com", Type.A));
  }

  @Test
  void addressesStillGranted_areAnsweredAtOnce_withoutAKernelCall() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    ask("api.example.com", Type.A);
    long calls = enforcer.privilegedOperations();

    clock.advance(Duration.ofSeconds(30));
    Message again = ask("api.example.com", Type.A);

    assertEquals(Set.of("192.0.2.10"), addresses(again));
    assertEquals(30, again.getSection(Section.ANSWER).get(0).getTTL());
    assertEquals(calls, enforcer.privilegedOperations());
    assertEquals(Set.of(), ((EgressEvent.DnsQueried) events.get(1)).granted());
  }

  @Test
  void aRestartedFilter_seesTheGrantsAlreadyMade() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    ask("api.example.com", Type.A);
    long calls = enforcer.privilegedOperations();

    handler = newHandler(3);
    Message response = ask("api.example.com", Type.A);

    assertEquals(Set.of("192.0.2.10"), addresses(response));
    assertEquals(calls, enforcer.privilegedOperations());
  }

  @Test
  void aFailedGrant_isServfail_andGrantsNothing() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    enforcer.failNextOperations(1);

    Message response = ask("api.example.com", Type.A);

    assertEquals(Rcode.SERVFAIL, response.getRcode());
    assertTrue(response.getSection(Section.ANSWER).isEmpty());
    assertFalse(allows("192.0.2.10"));
    assertEquals(DnsVerdict.GRANT_FAILED, lastVerdict());
  }

  @Test
  void anUpstreamServfailOrTimeout_isServfail_andGrantsNothing() throws Exception {
    upstream.setAddresses("a.cdn.example", TTL, "192.0.2.40");
    upstream.setAddresses("b.cdn.example", TTL, "192.0.2.41");
    upstream.setBehaviour("a.cdn.example", Behaviour.SERVFAIL);
    upstream.setBehaviour("b.cdn.example", Behaviour.DROP);

    assertEquals(Rcode.SERVFAIL, ask("a.cdn.example", Type.A).getRcode());
    assertEquals(DnsVerdict.UPSTREAM_FAILED, lastVerdict());
    assertEquals(Rcode.SERVFAIL, ask("b.cdn.example", Type.A).getRcode());
    assertEquals(DnsVerdict.UPSTREAM_FAILED, lastVerdict());

    assertFalse(allows("192.0.2.40"));
    assertFalse(allows("192.0.2.41"));
  }

  @Test
  void anAllowedNameThatDoesNotExist_isNxdomainFromUpstream() throws Exception {
    Message response = ask("gone.cdn.example", Type.A);

    assertEquals(Rcode.NXDOMAIN, response.getRcode());
    assertEquals(DnsVerdict.NO_SUCH_NAME, lastVerdict());
    assertTrue(upstream.queries("gone.cdn.example") > 0);
  }

  @Test
  void anAnswerTooLongForUdp_isCut_withTcSet() throws Exception {
    String[] many = new String[60];
    for (int i = 0; i < many.length; i++) {
      many[i] = "192.0.2." + (i + 1);
    }
    upstream.setAddresses("api.example.com", TTL, many);

    Message response = ask("api.example.com", Type.A);

    assertTrue(response.getHeader().getFlag(Flags.TC));
    assertTrue(response.getSection(Section.ANSWER).size() < many.length);
    assertTrue(allows("192.0.2.60"));
  }

  @Test
  void malformedQueries_getFormerr_andResponsesGetNothing() throws Exception {
    Message query =
        Message.newQuery(Record.newRecord(Name.fromString("api.example.com."), Type.A, DClass.IN));
    byte[] wire = query.toWire();
    byte[] cut = java.util.Arrays.copyOf(wire, wire.length - 3);

    Message formerr = new Message(handler.respond(BOX, cut, Transport.UDP));
    assertEquals(Rcode.FORMERR, formerr.getRcode());
    assertEquals(query.getHeader().getID(), formerr.getHeader().getID());
    assertEquals(DnsVerdict.MALFORMED, lastVerdict());

    query.getHeader().setFlag(Flags.QR);
    assertNull(handler.respond(BOX, query.toWire(), Transport.UDP));
    assertNull(handler.respond(BOX, new byte[5], Transport.UDP));
    assertEquals(0, upstream.totalQueries());
  }

  @Test
  void manyNamesUnderOneWildcard_makeOneBurstEventPerWindow() throws Exception {
    for (int i = 0; i < 5; i++) {
      ask("n" + i + ".cdn.example", Type.A);
    }
    ask("n0.cdn.example", Type.A);

    List<EgressEvent.WildcardBurst> bursts =
        events.stream()
            .filter(EgressEvent.WildcardBurst.class::isInstance)
            .map(EgressEvent.WildcardBurst.class::cast)
            .toList();
    assertEquals(1, bursts.size());
    assertEquals(HostName.of("*.cdn.example"), bursts.get(0).wildcard());
    assertEquals(3, bursts.get(0).uniqueNames());
    assertEquals(ContainerId.of("c1"), bursts.get(0).containerId());

    clock.advance(Duration.ofMinutes(1));
    for (int i = 10; i < 13; i++) {
      ask("n" + i + ".cdn.example", Type.A);
    }
    assertEquals(2, events.stream().filter(EgressEvent.WildcardBurst.class::isInstance).count());
  }

  @Test
  void aDetachedContainer_isRefused_andItsGrantsAreGone() throws Exception {
    upstream.setAddresses("api.example.com", TTL, "192.0.2.10");
    ask("api.example.com", Type.A);

    enforcer.attachments().get(0).detach();

    assertEquals(Rcode.REFUSED, ask("api.example.com", Type.A).getRcode());
    assertFalse(allows("192.0.2.10"));
  }
}
