package dev.egress.pf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.pfctl.TableName;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.pf.FakePfctl;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PfInspectionTest {
  private static final ParentAnchor PARENT = ParentAnchor.defaults();
  private final FakePfctl fake = new FakePfctl();
  private final Pfctl pfctl = new Pfctl(fake, List.of("/sbin/pfctl"), Duration.ofSeconds(5));
  private final PfInspection inspection = new PfInspection(pfctl, PARENT);

  @Test
  void childAnchors_listTheLoadedChildrenWithSourcesAndRules_butNotFlushedOnes() throws Exception {
    pfctl.loadAnchor(PARENT.path(), PfRenderer.renderParent(PARENT));
    pfctl.loadAnchor(
        PARENT.childPath(new AnchorName("a1")),
        """
        table <tcp_443> persist { 160.79.104.0/23 }
        pass in quick inet proto tcp from 192.168.64.3 to <tcp_443> port = 443
        block return in quick inet from 192.168.64.3 to any
        block return in quick inet6 from fd00::3 to any
        """);
    pfctl.loadAnchor(
        PARENT.childPath(new AnchorName("gone")),
        "block return in quick inet from 192.168.64.4 to any\n");
    pfctl.flushAnchor(PARENT.childPath(new AnchorName("gone")));

    List<PfInspection.LoadedAnchor> anchors = inspection.childAnchors();

    assertEquals(1, anchors.size(), anchors.toString());
    PfInspection.LoadedAnchor a1 = anchors.get(0);
    assertEquals(new AnchorName("a1"), a1.name());
    assertEquals(AnchorPath.of("com.apple/000.egress/a1"), a1.path());
    assertEquals(
        List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00::3")), a1.sources());
    assertEquals(3, a1.rules().size(), a1.rules().toString());
    assertEquals(List.of(new TableName("tcp_443")), a1.tableNames());
    assertEquals(
        Map.of(new TableName("tcp_443"), List.of("160.79.104.0/23")), inspection.tables(a1));
  }

  @Test
  void childAnchors_ignoreAnchorsOutsideOrBelowTheChildren() throws Exception {
    pfctl.loadAnchor(
        AnchorPath.of("com.apple/other"), "block return in quick inet from 192.168.64.5 to any\n");
    pfctl.loadAnchor(
        AnchorPath.of(PARENT.childPath(new AnchorName("a1")) + "/deeper"),
        "block return in quick inet from 192.168.64.6 to any\n");

    assertEquals(List.of(), inspection.childAnchors());
  }

  @Test
  void hooks_followWhatTheMainRulesetAndTheParentHold() throws Exception {
    assertTrue(inspection.mainRulesetHooked());
    assertFalse(inspection.parentEvaluatesChildren());

    pfctl.loadAnchor(PARENT.path(), PfRenderer.renderParent(PARENT));
    fake.unhookMainRuleset();

    assertFalse(inspection.mainRulesetHooked());
    assertTrue(inspection.parentEvaluatesChildren());

    fake.narrowMainRulesetHook("anchor \"com.apple/*\" in all");
    assertFalse(inspection.mainRulesetHooked(), "only the whole stock line counts");
  }

  @Test
  void childAnchors_whenPfctlFails_throwsWithoutChangingAnything() {
    fake.failOn("-s Anchors", 1, 1, "pfctl: DIOCGETRULESETS: Operation not permitted");

    assertThrows(PfctlException.class, inspection::childAnchors);
    assertTrue(
        fake.calls().stream().allMatch(call -> call.args().contains("-s")),
        fake.calls().toString());
  }

  @Test
  void loadedAnchor_withoutRules_cannotExist() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PfInspection.LoadedAnchor(
                new AnchorName("a1"),
                AnchorPath.of("com.apple/000.egress/a1"),
                List.of(),
                List.of()));
  }
}
