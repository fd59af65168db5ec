package dev.egress.dns.filter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.DnsVerdict;
import dev.egress.enforcer.EgressEvent;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * Whatever the name and policy, the filter refuses exactly the names the policy's decision function
 * ({@link EgressPolicy#namesCovering} of {@link HostName#ofQuery}) refuses, and a refused name
 * never reaches the upstream: hostile labels (NUL, a dot inside a label, escapes, {@code *}, bytes
 * above 0x7f, 63+ characters) and 0x20 case mixing included.
 */
class FilterVerdictProperties {
  static final InetAddress BOX = IpAddresses.parse("10.213.0.3");
  static final List<String> NAMES =
      List.of("api.example.com", "*.example.com", "*.cdn.example", "cdn.example", "x.test");

  static TestDnsServer upstream;
  static DnsNameResolver resolver;
  static InMemoryEgressEnforcer enforcer;
  static QueryHandler handler;
  static final AtomicReference<DnsVerdict> verdict = new AtomicReference<>();

  @BeforeContainer
  static void start() throws Exception {
    upstream = TestDnsServer.start();
    resolver =
        DnsNameResolver.builder()
            .servers(List.of(upstream.address()))
            .queryTimeout(Duration.ofMillis(300))
            .build();
    enforcer =
        InMemoryEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .dnsFilter(IpAddresses.parse("10.213.0.1"))
            .build();
    enforcer.attach(
        new ContainerEndpoint(ContainerId.of("c1"), List.of(BOX), null),
        EgressPolicy.builder().dns(DnsRule.filter()).build());
    handler =
        new QueryHandler(
            enforcer,
            resolver,
            Clock.systemUTC(),
            Duration.ofMinutes(5),
            new BurstCounter(1000, Duration.ofMinutes(1)),
            event -> {
              if (event instanceof EgressEvent.DnsQueried queried) {
                verdict.set(queried.verdict());
              }
            });
  }

  @AfterContainer
  static void stop() {
    enforcer.close();
    resolver.close();
    upstream.close();
  }

  @Property(tries = 300)
  void theFiltersVerdict_isThePolicysDecision(
      @ForAll("policies") EgressPolicy policy, @ForAll("names") Name asked) throws Exception {
    enforcer.attachments().get(0).update(policy);
    int before = upstream.totalQueries();
    Message query = Message.newQuery(Record.newRecord(asked, Type.A, DClass.IN));

    Message response = new Message(handler.respond(BOX, query.toWire(), Transport.UDP));

    boolean allowed =
        HostName.ofQuery(asked.toString())
            .map(name -> !policy.namesCovering(name).isEmpty())
            .orElse(false);
    if (allowed) {
      // Upstream knows no name: an allowed one is NXDOMAIN from there, or SERVFAIL on a timeout.
      assertTrue(
          verdict.get() == DnsVerdict.NO_SUCH_NAME || verdict.get() == DnsVerdict.UPSTREAM_FAILED,
          asked + " " + verdict.get());
    } else {
      assertEquals(DnsVerdict.REFUSED_NAME, verdict.get(), asked.toString());
      assertEquals(Rcode.NXDOMAIN, response.getRcode(), asked.toString());
      assertEquals(before, upstream.totalQueries(), asked.toString());
    }
  }

  @Provide
  Arbitrary<EgressPolicy> policies() {
    return Arbitraries.of(NAMES)
        .list()
        .ofMinSize(1)
        .ofMaxSize(3)
        .map(
            names -> {
              EgressPolicy.Builder builder = EgressPolicy.builder().dns(DnsRule.filter());
              names.forEach(name -> builder.allowTcp(Destination.host(name), 443));
              return builder.build();
            });
  }

  /** Names from label bytes: plain labels, hostile bytes, long labels, mixed case. */
  @Provide
  Arbitrary<Name> names() {
    Arbitrary<byte[]> label =
        Arbitraries.oneOf(
            Arbitraries.of("api", "example", "com", "cdn", "x", "test", "ApI", "EXAMPLE", "CoM")
                .map(String::getBytes),
            Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(8),
            Arbitraries.of("a.b", "*", "_x", "a\0b", "xn--bcher-kva", "-a")
                .map(text -> text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)),
            Arbitraries.bytes()
                .between((byte) 'a', (byte) 'z')
                .array(byte[].class)
                .ofMinSize(60)
                .ofMaxSize(63));
    return label
        .list()
        .ofMinSize(1)
        .ofMaxSize(4)
        .map(FilterVerdictProperties::name)
        .filter(name -> name != null);
  }

  private static Name name(List<byte[]> labels) {
    int length = 1 + labels.stream().mapToInt(label -> label.length + 1).sum();
    if (length > 255) {
      return null;
    }
    byte[] wire = new byte[length];
    int at = 0;
    for (byte[] label : labels) {
      wire[at++] = (byte) label.length;
      System.arraycopy(label, 0, wire, at, label.length);
      at += label.length;
    }
    try {
      return new Name(wire);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
