package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.FilteredAttachment;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The conformance kit of an enforcer built with a DNS filter ({@link FilteredAttachments}): who a
 * query comes from, and grants that open exactly the covering names' sets, until their expiry, all
 * or nothing. An implementation's test extends this class and supplies a {@link Harness}. Probes
 * are TCP 443 and 8443 to {@code 192.0.2.0/24} addresses and port 53 to the filter and to {@code
 * 192.0.2.53}.
 */
public abstract class FilteredAttachmentsContract {

  /** A fresh enforcer with a DNS filter, its clock, and a way to probe flows. */
  public interface Harness extends AutoCloseable {
    /** The enforcer under test; it is also {@link #attachments()}. */
    EgressEnforcer enforcer();

    /** The enforcer's side of the filter. */
    FilteredAttachments attachments();

    /** The address the enforcer was built with as its DNS filter. */
    InetAddress filterAddress();

    /** A fresh, unattached container; unique within this harness. */
    ContainerEndpoint newContainer();

    /** The enforcer's clock now. */
    Instant now();

    /** Moves the enforcer's clock (and, for a real kernel, waits as long). */
    void advance(Duration duration) throws InterruptedException;

    /** Whether {@code container} may open {@code flow} now. */
    boolean allows(ContainerEndpoint container, Flow flow) throws Exception;

    /** Makes the next kernel update fail. */
    void failNextKernelUpdate();

    @Override
    void close() throws Exception;
  }

  protected abstract Harness newHarness() throws Exception;

  private static final InetAddress A = IpAddresses.parse("192.0.2.10");
  private static final InetAddress B = IpAddresses.parse("192.0.2.11");
  private static final HostName API = HostName.of("api.example.com");
  private static final HostName IMG = HostName.of("img.cdn.example");
  private static final Duration TTL = Duration.ofSeconds(60);

  private Harness harness;
  private ContainerEndpoint box;

  @BeforeEach
  void setUp() throws Exception {
    harness = newHarness();
    box = harness.newContainer();
  }

  @AfterEach
  void tearDown() throws Exception {
    harness.close();
  }

  private static EgressPolicy policy(String text) throws PolicySyntaxException {
    return PolicyText.parse(text, "contract");
  }

  private static final String FILTERED =
      "allow api.example.com port 443\nallow *.cdn.example port 8443\ndns filter\n";

  private Attachment attachFiltered() throws Exception {
    return harness.enforcer().attach(box, policy(FILTERED));
  }

  private boolean allows(InetAddress address, int port) throws Exception {
    return harness.allows(box, Flow.tcp(address, port));
  }

  @Test
  void dnsFilter_isTheAddressTheEnforcerWasBuiltWith() {
    assertEquals(Optional.of(harness.filterAddress()), harness.enforcer().dnsFilter());
  }

  @Test
  void bySource_findsAFilteredAttachment_andNothingElse() throws Exception {
    attachFiltered();
    ContainerEndpoint other = harness.newContainer();
    harness.enforcer().attach(other, policy("allow api.example.com port 443\ndns none\n"));

    Optional<FilteredAttachment> found = harness.attachments().bySource(box.addresses().get(0));

    assertEquals(box.id(), found.orElseThrow().id());
    assertEquals(policy(FILTERED), found.get().policy());
    assertEquals(Optional.empty(), harness.attachments().bySource(other.addresses().get(0)));
    assertEquals(Optional.empty(), harness.attachments().bySource(IpAddresses.parse("192.0.2.99")));
  }

  @Test
  void aGrantAfterTheEnforcerClosed_isRefused() throws Exception {
    attachFiltered();
    harness.enforcer().close(); // nothing would revoke a grant after this

    assertThrows(
        EgressException.class,
        () -> harness.attachments().grant(box.id(), API, Set.of(A), harness.now().plus(TTL)));
  }

  @Test
  void aGrant_opensTheCoveringNamesSetsOnTheirPortsOnly_untilItsExpiry() throws Exception {
    attachFiltered();
    assertFalse(allows(A, 443));

    harness.attachments().grant(box.id(), API, Set.of(A), harness.now().plus(TTL));
    harness.attachments().grant(box.id(), IMG, Set.of(B), harness.now().plus(TTL));

    assertTrue(allows(A, 443));
    assertFalse(allows(A, 8443));
    assertTrue(allows(B, 8443));
    assertFalse(allows(B, 443));
    harness.advance(TTL);
    assertFalse(allows(A, 443));
    assertFalse(allows(B, 8443));
  }

  @Test
  void aGrantForANameThePolicyDoesNotCover_throws_andOpensNothing() throws Exception {
    attachFiltered();

    for (HostName asked :
        Set.of(
            HostName.of("cdn.example"), HostName.of("evil.example"), HostName.of("example.com"))) {
      assertThrows(
          EgressException.class,
          () -> harness.attachments().grant(box.id(), asked, Set.of(A), harness.now().plus(TTL)));
    }
    assertFalse(allows(A, 443));
    assertFalse(allows(A, 8443));
  }

  @Test
  void aGrantToAContainerWithoutDnsFilter_throws() throws Exception {
    harness.enforcer().attach(box, policy("allow api.example.com port 443\ndns none\n"));

    assertThrows(
        EgressException.class,
        () -> harness.attachments().grant(box.id(), API, Set.of(A), harness.now().plus(TTL)));
    assertFalse(allows(A, 443));
  }

  @Test
  void grantedUntil_isTheEarliestExpiry_andEmptyForWhatIsNotGranted() throws Exception {
    attachFiltered();
    Instant early = harness.now().plus(TTL);
    Instant late = early.plus(TTL);
    harness.attachments().grant(box.id(), API, Set.of(A), early);
    harness.attachments().grant(box.id(), API, Set.of(B), late);

    assertEquals(
        Optional.of(early), harness.attachments().grantedUntil(box.id(), API, Set.of(A, B)));
    assertEquals(Optional.of(late), harness.attachments().grantedUntil(box.id(), API, Set.of(B)));
    assertEquals(
        Optional.empty(),
        harness.attachments().grantedUntil(box.id(), API, Set.of(IpAddresses.parse("192.0.2.12"))));
    assertEquals(Optional.empty(), harness.attachments().grantedUntil(box.id(), IMG, Set.of(A)));
    harness.advance(TTL);
    assertEquals(Optional.empty(), harness.attachments().grantedUntil(box.id(), API, Set.of(A, B)));
  }

  @Test
  void aLaterGrantExtends_anEarlierOneNeverShortens() throws Exception {
    attachFiltered();
    Instant first = harness.now().plus(TTL);
    harness.attachments().grant(box.id(), API, Set.of(A), first);
    harness.attachments().grant(box.id(), API, Set.of(A), first.plus(TTL));
    harness.attachments().grant(box.id(), API, Set.of(A), first.minus(Duration.ofSeconds(30)));

    harness.advance(TTL.plus(Duration.ofSeconds(30)));
    assertTrue(allows(A, 443));
  }

  @Test
  void aFailedGrant_opensNothing() throws Exception {
    attachFiltered();
    harness.failNextKernelUpdate();

    assertThrows(
        EgressException.class,
        () -> harness.attachments().grant(box.id(), API, Set.of(A, B), harness.now().plus(TTL)));

    assertFalse(allows(A, 443));
    assertFalse(allows(B, 443));
    assertEquals(Optional.empty(), harness.attachments().grantedUntil(box.id(), API, Set.of(A)));
  }

  @Test
  void detach_takesTheGrantsAway_andAnUpdateKeepsOnlyThoseOfNamesItKeeps() throws Exception {
    Attachment attachment = attachFiltered();
    harness.attachments().grant(box.id(), API, Set.of(A), harness.now().plus(TTL));
    harness.attachments().grant(box.id(), IMG, Set.of(B), harness.now().plus(TTL));

    attachment.update(policy("allow api.example.com port 443\ndns filter\n"));
    assertTrue(allows(A, 443));
    assertFalse(allows(B, 8443));

    attachment.detach();
    assertFalse(allows(A, 443));
    assertEquals(Optional.empty(), harness.attachments().bySource(box.addresses().get(0)));
  }

  @Test
  void port53_reachesTheFilter_andNoOtherResolver() throws Exception {
    attachFiltered();

    assertTrue(harness.allows(box, Flow.udp(harness.filterAddress(), 53)));
    assertTrue(harness.allows(box, Flow.tcp(harness.filterAddress(), 53)));
    assertFalse(harness.allows(box, Flow.udp(IpAddresses.parse("192.0.2.53"), 53)));
  }
}
