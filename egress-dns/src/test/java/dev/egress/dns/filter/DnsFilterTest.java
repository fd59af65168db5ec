package dev.egress.dns.filter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.FilteredAttachment;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * The filter on its sockets: UDP and TCP on loopback. The enforcer cannot attach a loopback
 * address, so the attachments seen by the filter take the test's loopback source for the box.
 */
class DnsFilterTest {
  static final InetAddress BOX = IpAddresses.parse("10.213.0.3");
  static final InetAddress FILTER = InetAddress.getLoopbackAddress();

  TestDnsServer upstream;
  DnsNameResolver resolver;
  InMemoryEgressEnforcer enforcer;
  DnsFilter filter;

  @BeforeEach
  void start() throws Exception {
    upstream = TestDnsServer.start();
    upstream.setAddresses("api.example.com", Duration.ofSeconds(60), "192.0.2.10");
    resolver = DnsNameResolver.builder().servers(List.of(upstream.address())).build();
    enforcer =
        InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).dnsFilter(FILTER).build();
    enforcer.attach(
        new ContainerEndpoint(ContainerId.of("c1"), List.of(BOX), null),
        PolicyText.parse("allow api.example.com port 443\ndns filter\n", "test"));
    filter =
        DnsFilter.builder()
            .attachments(loopbackIsTheBox(enforcer))
            .resolver(resolver)
            .listen(new InetSocketAddress(FILTER, 0))
            .start();
  }

  @AfterEach
  void stop() {
    filter.close();
    enforcer.close();
    resolver.close();
    upstream.close();
  }

  static FilteredAttachments loopbackIsTheBox(FilteredAttachments enforcer) {
    return new FilteredAttachments() {
      @Override
      public Optional<FilteredAttachment> bySource(InetAddress source) {
        return enforcer.bySource(source.isLoopbackAddress() ? BOX : source);
      }

      @Override
      public Optional<Instant> grantedUntil(
          ContainerId container, HostName asked, Set<InetAddress> addresses) {
        return enforcer.grantedUntil(container, asked, addresses);
      }

      @Override
      public void grant(
          ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
          throws EgressException {
        enforcer.grant(container, asked, addresses, expiry);
      }
    };
  }

  Message ask(String name, boolean tcp) throws Exception {
    SimpleResolver client = new SimpleResolver(filter.address());
    client.setTCP(tcp);
    client.setTimeout(Duration.ofSeconds(5));
    return client.send(
        Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN)));
  }

  @Test
  void overUdp_anAllowedNameIsAnsweredAndGranted_aRefusedOneIsNot() throws Exception {
    Message allowed = ask("api.example.com.", false);
    Message refused = ask("secret-data.evil.example.", false);

    assertEquals(Rcode.NOERROR, allowed.getRcode());
    assertEquals(
        IpAddresses.parse("192.0.2.10"),
        ((ARecord) allowed.getSection(Section.ANSWER).get(0)).getAddress());
    assertTrue(enforcer.wouldAllow(BOX, Flow.tcp(IpAddresses.parse("192.0.2.10"), 443)));
    assertEquals(Rcode.NXDOMAIN, refused.getRcode());
    assertEquals(0, upstream.queries("secret-data.evil.example"));
  }

  @Test
  void overTcp_queriesAreAnsweredToo() throws Exception {
    Message allowed = ask("api.example.com.", true);

    assertEquals(Rcode.NOERROR, allowed.getRcode());
    assertEquals(1, allowed.getSection(Section.ANSWER).size());
  }

  @Test
  void theContainersPort53_reachesTheFilterOnly() {
    assertTrue(enforcer.wouldAllow(BOX, Flow.udp(FILTER, 53)));
    assertFalse(enforcer.wouldAllow(BOX, Flow.udp(IpAddresses.parse("8.8.8.8"), 53)));
  }

  @Test
  void theBuilder_needsAttachmentsResolverAndAddress() {
    assertThrows(IllegalStateException.class, () -> DnsFilter.builder().resolver(resolver).start());
    assertThrows(IllegalArgumentException.class, () -> DnsFilter.builder().threads(0));
    assertThrows(IllegalArgumentException.class, () -> DnsFilter.builder().burstThreshold(0));
    assertThrows(
        IllegalArgumentException.class, () -> DnsFilter.builder().grace(Duration.ofSeconds(-1)));
  }
}
