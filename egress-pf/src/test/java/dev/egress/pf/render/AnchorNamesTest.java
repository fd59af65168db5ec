package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpNetwork;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnchorNamesTest {

  @Test
  void childName_safeId_isKeptAsItIs() {
    assertEquals("nanoclaw-main_1", AnchorNames.childName("nanoclaw-main_1"));
    assertEquals("a".repeat(63), AnchorNames.childName("a".repeat(63)));
  }

  @Test
  void childName_unsafeOrLongId_isSanitisedWithAHashSuffix() {
    String name = AnchorNames.childName("my.container/1");
    assertTrue(name.matches("my-container-1\\.[0-9a-f]{12}"), name);
    String longName = AnchorNames.childName("a".repeat(64));
    assertEquals(63, longName.length());
    assertTrue(longName.startsWith("a".repeat(50) + "."), longName);
    assertTrue(
        AnchorNames.childName("_hidden").matches("xhidden\\.[0-9a-f]{12}"),
        AnchorNames.childName("_hidden"));
    assertTrue(
        AnchorNames.childName("-rf").matches("xrf\\.[0-9a-f]{12}"), AnchorNames.childName("-rf"));
    assertNotEquals(AnchorNames.childName("-rf"), AnchorNames.childName("_rf"));
    assertNotEquals(AnchorNames.childName("-rf"), AnchorNames.childName("xrf"));
  }

  @Test
  void childName_idThatLooksLikeASanitisedName_cannotCollideWithOne() {
    String sanitised = AnchorNames.childName("a.b");
    String lookalike = sanitised.replace('.', '-');
    assertNotEquals(sanitised, AnchorNames.childName(lookalike));
    assertNotEquals(AnchorNames.childName("a/b"), AnchorNames.childName("a:b"));
  }

  @Test
  void checkPath_rejectsEmptyComponentsWildcardsAndReservedNames() {
    for (String bad :
        List.of(
            "",
            "/",
            "com.apple/",
            "/com.apple",
            "com.apple//x",
            "com.apple/*",
            "com.apple/_x",
            "com.apple/.x",
            "com.apple/a b",
            "com.apple/" + "x".repeat(64))) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> AnchorNames.checkPath(bad), bad);
      assertFalse(e.getMessage().isEmpty());
    }
    assertEquals("com.apple/000.egress", AnchorNames.checkPath("com.apple/000.egress"));
  }

  @Test
  void checkTableName_acceptsOnlyRendererNames() {
    assertEquals("tcp_5432_5433", AnchorNames.checkTableName("tcp_5432_5433"));
    for (String bad : List.of("", "Tcp", "1tcp", "t-1", "x".repeat(32), "t>", "t t")) {
      assertThrows(IllegalArgumentException.class, () -> AnchorNames.checkTableName(bad), bad);
    }
  }

  @Test
  void parentAnchor_defaultIsADirectChildOfComApple() {
    ParentAnchor parent = ParentAnchor.defaults();
    assertEquals("com.apple/000.egress", parent.path());
    assertTrue(parent.reachedByStockMacosRuleset());
    assertEquals("com.apple/000.egress/c1", parent.childPath("c1"));
    assertFalse(
        new ParentAnchor("com.apple/000.egress/deeper", null, false).reachedByStockMacosRuleset());
    assertFalse(new ParentAnchor("egress", null, false).reachedByStockMacosRuleset());
    assertThrows(IllegalArgumentException.class, () -> parent.childPath("a/b"));
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
