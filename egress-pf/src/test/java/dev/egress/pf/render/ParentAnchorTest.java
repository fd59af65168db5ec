package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.policy.IpNetwork;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParentAnchorTest {
  private static final String DOCKER_ID =
      "8f14e45fceea167a5a36dedd4bea2543aa1f3c3b1e5c1f0e3f2b9a1c4d5e6f70";

  @Test
  void parentAnchor_defaultIsADirectChildOfComApple() {
    ParentAnchor parent = ParentAnchor.defaults();
    assertEquals(AnchorPath.of("com.apple/000.egress"), parent.path());
    assertTrue(parent.reachedByStockMacosRuleset());
    assertEquals(AnchorPath.of("com.apple/000.egress/c1"), parent.childPath(new AnchorName("c1")));
    assertFalse(
        new ParentAnchor(AnchorPath.of("com.apple/000.egress/deeper"), null, false)
            .reachedByStockMacosRuleset());
    assertFalse(
        new ParentAnchor(AnchorPath.of("egress"), null, false).reachedByStockMacosRuleset());
  }

  @Test
  void childName_ofALongId_fitsBelowTheDefaultParent_inPfctlsWholePathLimit() {
    ParentAnchor parent = ParentAnchor.defaults();
    AnchorName name = parent.childName(ContainerId.of(DOCKER_ID));
    AnchorPath path = parent.childPath(name);

    assertEquals(63, path.value().length(), path.value());
    assertTrue(name.value().startsWith(DOCKER_ID.substring(0, 29) + "."), name.value());
  }

  @Test
  void childName_ofASafeIdThatFits_isTheIdItself_andOfOneThatDoesNot_aReadablePrefixAndAHash() {
    ParentAnchor parent = ParentAnchor.defaults();
    String fits = "nanoclaw-main-" + "x".repeat(28);
    String nanoClaw = "nanoclaw-v2-family-group-chat-1764440000000"; // 43 characters

    assertEquals(fits, parent.childName(ContainerId.of(fits)).value());
    AnchorName hashed = parent.childName(ContainerId.of(nanoClaw));
    assertTrue(
        hashed.value().matches("nanoclaw-v2-family-group-chat\\.[0-9a-f]{12}"), hashed.value());
    assertEquals(63, parent.childPath(hashed).value().length());
  }

  @Test
  void aShorterParent_leavesMoreOfTheIdReadable() {
    ParentAnchor shorter = new ParentAnchor(AnchorPath.of("egress"), null, false);
    AnchorName name = shorter.childName(ContainerId.of(DOCKER_ID));
    assertEquals(56, name.value().length());
    assertTrue(name.value().startsWith(DOCKER_ID.substring(0, 43) + "."), name.value());
  }

  @Test
  void aParentThatLeavesTooLittleRoom_isRefusedWithTheLimitAndTheWayOut() {
    String longest =
        "com.apple/" + "p".repeat(ParentAnchor.MAX_PATH_LENGTH - "com.apple/".length());
    new ParentAnchor(AnchorPath.of(longest), null, false);

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new ParentAnchor(AnchorPath.of(longest + "p"), null, false));
    assertTrue(e.getMessage().contains("at most 63 characters"), e.getMessage());
    assertTrue(e.getMessage().contains("at most " + ParentAnchor.MAX_PATH_LENGTH), e.getMessage());
    assertEquals(48, ParentAnchor.MAX_PATH_LENGTH);
  }

  @Test
  void childPath_ofANameThatDoesNotFit_isRefused() {
    ParentAnchor parent = ParentAnchor.defaults();
    assertThrows(
        IllegalArgumentException.class, () -> parent.childPath(new AnchorName("a".repeat(43))));
    assertEquals(63, parent.childPath(new AnchorName("a".repeat(42))).value().length());
  }

  @Test
  void managedNetwork_rejectsNoSubnetAnAllAddressesSubnetAndBadInterfaces() {
    IpNetwork subnet = IpNetwork.parse("192.168.70.0/24");
    assertThrows(IllegalArgumentException.class, () -> new ManagedNetwork(List.of(), null));
    assertThrows(
        IllegalArgumentException.class, () -> ManagedNetwork.of(IpNetwork.parse("0.0.0.0/0")));
    for (String bad :
        List.of(
            "",
            "bridge",
            "all",
            "bridge100 all",
            "en0\n",
            "Bridge1",
            "averyveryverylongif1",
            "!lo0")) {
      assertThrows(
          IllegalArgumentException.class, () -> ManagedNetwork.of(subnet).onBridge(bad), bad);
    }
    assertEquals("bridge101", ManagedNetwork.of(subnet).onBridge("bridge101").bridgeInterface());
  }
}
