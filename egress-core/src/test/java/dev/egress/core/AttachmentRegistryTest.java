package dev.egress.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.core.AttachmentRegistry.Removal;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The registry's transitions on their own: no backend, no threads. */
class AttachmentRegistryTest {
  private final AttachmentRegistry<Entry> registry = new AttachmentRegistry<>();

  record Entry(RuleSetName ruleSetName, ContainerEndpoint container)
      implements AttachmentRegistry.Registered {}

  private static Entry entry(String id, String address) {
    return new Entry(
        new FakeBackend.Name("egress-" + id),
        new ContainerEndpoint(ContainerId.of(id), List.of(ip(address)), null));
  }

  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  @Test
  void reserve_makesTheAttachmentLive_andHoldingItsAddress() {
    Entry a = entry("a", "10.0.0.2");

    registry.reserve(a);

    assertEquals(List.of(a), registry.attachments());
    assertEquals(Optional.of(a), registry.holding(ip("10.0.0.2")));
    assertEquals(Optional.empty(), registry.holding(ip("10.0.0.3")));
    assertEquals(Optional.of(a), registry.attachedAs(a.container()));
  }

  @Test
  void reserve_ofAnAddressAnotherContainerHolds_throws_andChangesNothing() {
    Entry a = entry("a", "10.0.0.2");
    registry.reserve(a);

    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> registry.reserve(entry("b", "10.0.0.2")));

    assertTrue(e.getMessage().contains("belongs to container a: detach it first"), e.getMessage());
    assertEquals(List.of(a), registry.attachments());
    assertEquals(Optional.of(a), registry.holding(ip("10.0.0.2")));
  }

  @Test
  void attachedAs_theSameIdWithOtherAddresses_throws() {
    registry.reserve(entry("a", "10.0.0.2"));

    assertThrows(
        IllegalStateException.class, () -> registry.attachedAs(entry("a", "10.0.0.9").container()));
  }

  @Test
  void beginRemoval_takesItOutOfTheLiveSet_butKeepsItsAddressReservedUntilRemoved() {
    Entry a = entry("a", "10.0.0.2");
    registry.reserve(a);

    Removal removal = registry.beginRemoval(a);

    assertTrue(registry.attachments().isEmpty());
    assertEquals(Optional.empty(), registry.holding(ip("10.0.0.2")));
    assertEquals(Set.of(Subject.container(ContainerId.of("a"))), registry.removalSubjects());
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> registry.reserve(entry("b", "10.0.0.2")));
    assertTrue(e.getMessage().contains("whose removal failed and is being retried"));

    registry.removed(a.ruleSetName(), removal);

    assertTrue(registry.removalSubjects().isEmpty());
    registry.reserve(entry("b", "10.0.0.2"));
  }

  @Test
  void removed_byAStaleRemoval_leavesTheCurrentOneRegistered() {
    Entry a = entry("a", "10.0.0.2");
    registry.reserve(a);
    Removal first = registry.beginRemoval(a);
    registry.removed(a.ruleSetName(), first);
    registry.reserve(a);
    Removal second = registry.beginRemoval(a);

    assertFalse(registry.isCurrent(a.ruleSetName(), first));
    registry.removed(a.ruleSetName(), first);

    assertTrue(registry.isCurrent(a.ruleSetName(), second));
    assertThrows(IllegalStateException.class, () -> registry.reserve(entry("b", "10.0.0.2")));
  }

  @Test
  void queueOrphan_ofALiveName_isRefused_andOfAnUnknownOne_blocksItsAddresses() {
    Entry a = entry("a", "10.0.0.2");
    registry.reserve(a);
    RuleSetName orphan = new FakeBackend.Name("egress-gone");

    assertEquals(Optional.empty(), registry.queueOrphan(a.ruleSetName(), List.of()));
    Optional<Removal> removal = registry.queueOrphan(orphan, List.of(ip("10.0.0.7")));

    assertTrue(removal.isPresent());
    assertEquals(Optional.empty(), registry.queueOrphan(orphan, List.of(ip("10.0.0.7"))));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> registry.reserve(entry("c", "10.0.0.7")));
    assertTrue(e.getMessage().contains("still governed by rule set egress-gone"), e.getMessage());
    assertEquals(
        Map.of(orphan, removal.get()),
        registry.removalsBlocking(entry("c", "10.0.0.7").container(), a.ruleSetName()));
  }

  @Test
  void claimForeignOf_queuesForeignRuleSetsHoldingTheContainersAddress_only() {
    RuleSetName reused = new FakeBackend.Name("egress-old");
    RuleSetName unrelated = new FakeBackend.Name("egress-other");
    registry.noteForeign(
        Map.of(reused, List.of(ip("10.0.0.2")), unrelated, List.of(ip("10.0.0.9"))));
    Entry a = entry("a", "10.0.0.2");

    registry.claimForeignOf(a.container(), a.ruleSetName());

    assertTrue(registry.foreignChecked());
    assertEquals(Set.of(Subject.unowned(reused)), registry.removalSubjects());
  }

  @Test
  void close_refusesLaterReservations_once() {
    assertTrue(registry.close());
    assertFalse(registry.close());

    assertThrows(IllegalStateException.class, () -> registry.reserve(entry("a", "10.0.0.2")));
    assertFalse(registry.startRetries());
  }

  @Test
  void startRetries_isClaimedOnce_untilTheRetriesAreOver() {
    assertTrue(registry.startRetries());
    assertFalse(registry.startRetries());

    assertTrue(registry.retriesOver()); // nothing left to remove

    assertTrue(registry.startRetries());
  }
}
