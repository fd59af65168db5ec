package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AnchorNameTest {
  private static final int ROOM = 42; // below com.apple/000.egress

  private static String name(String id) {
    return AnchorName.forContainer(ContainerId.of(id), ROOM).value();
  }

  @Test
  void forContainer_safeIdThatFits_isKeptAsItIs() {
    assertEquals("nanoclaw-main_1", name("nanoclaw-main_1"));
    assertEquals("a".repeat(ROOM), name("a".repeat(ROOM)));
  }

  @Test
  void forContainer_unsafeOrLongId_isSanitisedWithAHashSuffix_withinTheRoom() {
    assertTrue(name("my.container/1").matches("my-container-1\\.[0-9a-f]{12}"), name("my.c/1"));
    String longName = name("a".repeat(ROOM + 1));
    assertEquals(ROOM, longName.length());
    assertTrue(longName.startsWith("a".repeat(ROOM - 13) + "."), longName);
    assertTrue(name("_hidden").matches("xhidden\\.[0-9a-f]{12}"), name("_hidden"));
    assertTrue(name("-rf").matches("xrf\\.[0-9a-f]{12}"), name("-rf"));
    assertNotEquals(name("-rf"), name("_rf"));
    assertNotEquals(name("-rf"), name("xrf"));
  }

  @Test
  void forContainer_idThatLooksLikeASanitisedName_cannotCollideWithOne() {
    String sanitised = name("a.b");
    String lookalike = sanitised.replace('.', '-');
    assertNotEquals(sanitised, name(lookalike));
    assertNotEquals(name("a/b"), name("a:b"));
  }

  @Test
  void forContainer_needsRoomForAReadableCharacterADotAndTheHash() {
    assertEquals(14, AnchorName.MIN_GENERATED_LENGTH);
    assertTrue(
        AnchorName.forContainer(ContainerId.of("x".repeat(200)), 14)
            .value()
            .matches("x\\.[0-9a-f]{12}"));
    assertThrows(
        IllegalArgumentException.class,
        () -> AnchorName.forContainer(ContainerId.of("x".repeat(200)), 13));
  }

  @Test
  void names_startWithALetterOrDigit_andHoldNoSeparatorsWildcardsOrSpaces() {
    for (String bad : List.of("", "_pf", ".x", "-x", "a/b", "a*", "a b", "x\n", "é")) {
      assertThrows(IllegalArgumentException.class, () -> new AnchorName(bad), bad);
    }
    assertEquals("a.b-c_d", new AnchorName("a.b-c_d").value());
  }

  @Test
  void paths_areComponentsSeparatedBySlash_ofAtMost63CharactersInAll() {
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
            "com.apple/" + "x".repeat(54))) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> AnchorPath.of(bad), bad);
      assertFalse(e.getMessage().isEmpty());
    }
    String longest = "com.apple/" + "x".repeat(53);
    assertEquals(63, AnchorPath.of(longest).value().length());
    assertTrue(AnchorPath.of(longest).childNameBudget() < 1, "no child fits");
    assertEquals(42, AnchorPath.of("com.apple/000.egress").childNameBudget());
  }

  @Test
  void childName_ofAListedPath_isItsDirectChildThatFits() {
    AnchorPath parent = AnchorPath.of("com.apple/000.egress");
    assertEquals(Optional.of(new AnchorName("c1")), parent.childName("com.apple/000.egress/c1"));
    assertEquals(Optional.empty(), parent.childName("com.apple/000.egress/c1/deeper"));
    assertEquals(Optional.empty(), parent.childName("com.apple/other"));
    assertEquals(Optional.empty(), parent.childName("com.apple/000.egressx/c1"));
    assertEquals(Optional.empty(), parent.childName("com.apple/000.egress/_hidden"));
    assertEquals(Optional.empty(), parent.childName("com.apple/000.egress/" + "x".repeat(43)));
  }

  @Test
  void tableNames_areTheRenderersOnly() {
    assertEquals("tcp_5432_5433", new TableName("tcp_5432_5433").value());
    for (String bad : List.of("", "Tcp", "1tcp", "t-1", "x".repeat(32), "t>", "t t")) {
      assertThrows(IllegalArgumentException.class, () -> new TableName(bad), bad);
    }
  }

  @Test
  void patterns_matchExactlyWhatTheTypesAccept() {
    AnchorPath parent = AnchorPath.of("com.apple/000.egress");
    assertTrue("com.apple/000.egress".matches(parent.pattern()));
    assertFalse("com.apple/000xegress".matches(parent.pattern()), "the dot is literal");
    assertTrue(("com.apple/000.egress/" + "a".repeat(42)).matches(parent.childPattern()));
    assertFalse(("com.apple/000.egress/" + "a".repeat(43)).matches(parent.childPattern()));
    assertFalse("com.apple/000.egress/_x".matches(parent.childPattern()));
    assertTrue("udp_5000_5100".matches(TableName.PATTERN));
  }
}
