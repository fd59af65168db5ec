package dev.egress.cli;

import static dev.egress.cli.WrapperRig.framed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.render.ChildRuleset;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.pf.render.PfTable;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated wrapper in front of FakePfctl's executable, which records every call it gets.
 *
 * <p>Issue 18, S1: the five lines that reached pfctl as root before are refused in every load, and
 * FakePfctl never runs.
 *
 * <p>Issue 17, finding 1: a load cut short (its writer died mid-stream) must load nothing. Each
 * load egress-pf renders is fed to the generated wrapper in front of FakePfctl's executable, cut on
 * both sides of every newline and after every byte of its end line: only the whole text reaches
 * pfctl. (LoadGrammarProperties cuts after every byte of random loads, against the same grammar in
 * Java.)
 */
class WrapperLoadsAgainstFakePfctlTest {
  private static final String CHILD = "com.apple/000.egress/agent-1";

  @TempDir Path dir;

  /** Every strict prefix that ends next to a newline or inside the last line. */
  private static Set<Integer> cuts(String text) {
    Set<Integer> cuts = new java.util.TreeSet<>();
    int lastLine = text.lastIndexOf('\n', text.length() - 2) + 1;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == '\n' || i >= lastLine) {
        cuts.add(i);
        cuts.add(i + 1);
      }
    }
    cuts.add(0);
    cuts.remove(text.length());
    return cuts;
  }

  @Test
  void theFiveLinesOfIssue18_areRefusedInEveryLoad_andNeverReachPfctl() throws Exception {
    WrapperRig rig = new WrapperRig(dir, WrapperRig.SCOPE, FakePfctl.installExecutable(dir));
    List<String> forwarded = new ArrayList<>();
    for (String line : WrapperRig.S1_LINES) {
      for (String[] call :
          List.of(
              new String[] {"-a", "com.apple/000.egress", "-f", "-"},
              new String[] {"-a", CHILD, "-f", "-"},
              new String[] {"-a", CHILD, "-t", "tcp_443", "-T", "replace", "-f", "-"})) {
        WrapperRig.Run run = rig.runWithInput(framed(line + "\n"), call);
        if (run.exit() != 64 || !run.stderr().contains("is not a line egress-pf writes")) {
          forwarded.add(line + " to " + String.join(" ", call) + ": " + run.stderr());
        }
      }
    }

    assertEquals(List.of(), forwarded);
    assertEquals(List.of(), FakePfctl.readFrom(dir.resolve("pfctl.state")).calls());
  }

  @Test
  void aLoadCutAfterAnyByte_loadsNothing_andTheWholeLoadLoads() throws Exception {
    WrapperRig rig = new WrapperRig(dir, WrapperRig.SCOPE, FakePfctl.installExecutable(dir));
    ParentAnchor parent =
        ParentAnchor.defaults()
            .guarding(
                ManagedNetwork.of(IpNetwork.parse("192.168.64.0/24")).onBridge("bridge100"), true);
    ChildRuleset child =
        PfRenderer.renderChild(
            parent.childName(ContainerId.of("agent-1")),
            EnforcementPlan.of(
                PolicyText.parse(PfAttached.POLICY + "log denied\n", "test"),
                new ContainerEndpoint(
                    ContainerId.of("agent-1"),
                    List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
                    IpAddresses.parse("192.168.64.1")),
                new Resolutions(
                    Map.of(
                        HostName.of("api.anthropic.com"),
                        Set.of(
                            IpAddresses.parse("160.79.104.10"),
                            IpAddresses.parse("2607:6bc0::10"))))));
    PfTable table = child.tables().get(0);
    StringBuilder entries = new StringBuilder();
    table.entries().forEach(entry -> entries.append(entry).append('\n'));
    record Load(String text, String[] call) {}
    List<Load> loads =
        List.of(
            new Load(
                framed(PfRenderer.renderParent(parent)),
                new String[] {"-a", "com.apple/000.egress", "-f", "-"}),
            new Load(framed(child.text()), new String[] {"-a", CHILD, "-f", "-"}),
            new Load(
                framed(entries.toString()),
                new String[] {
                  "-a", CHILD, "-t", table.name().value(), "-T", "replace", "-f", "-"
                }));

    List<String> accepted = new ArrayList<>();
    for (Load load : loads) {
      for (int cut : cuts(load.text())) {
        WrapperRig.Run run = rig.runWithInput(load.text().substring(0, cut), load.call());
        if (run.exit() != 64) {
          accepted.add(load.call()[1] + " cut at " + cut + ": " + run.exit() + " " + run.stderr());
        }
      }
      WrapperRig.Run whole = rig.runWithInput(load.text(), load.call());
      assertEquals(0, whole.exit(), whole.stderr());
    }

    assertEquals(List.of(), accepted);
    FakePfctl pf = FakePfctl.readFrom(dir.resolve("pfctl.state"));
    assertEquals(
        List.of(
            "-a com.apple/000.egress -f -",
            "-a " + CHILD + " -f -",
            "-a " + CHILD + " -t " + table.name() + " -T replace -f -"),
        pf.calls().stream().map(FakePfctl.Call::line).toList(),
        "pfctl ran once per load, with the whole text");
    assertEquals(loads.get(1).text(), pf.calls().get(1).stdin());
    assertTrue(pf.anchor(CHILD).orElseThrow().rules().size() > 4, "the whole ruleset loaded");
  }

  @Test
  void aDnsFilterAnchor_andItsGrantAndRevocation_passTheWrapper_andReachPf() throws Exception {
    WrapperRig rig = new WrapperRig(dir, WrapperRig.SCOPE, FakePfctl.installExecutable(dir));
    ParentAnchor parent = ParentAnchor.defaults();
    ChildRuleset child =
        PfRenderer.renderChild(
            parent.childName(ContainerId.of("agent-1")),
            EnforcementPlan.of(
                PolicyText.parse("allow *.example.com port 443\ndns filter\n", "test"),
                new ContainerEndpoint(
                    ContainerId.of("agent-1"),
                    List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
                    IpAddresses.parse("192.168.64.1")),
                Resolutions.none(),
                IpAddresses.parse("192.168.64.1")));
    String table = child.tables().get(0).name().value();

    List<WrapperRig.Run> runs =
        List.of(
            rig.runWithInput(
                framed(PfRenderer.renderParent(parent)), "-a", "com.apple/000.egress", "-f", "-"),
            rig.runWithInput(framed(child.text()), "-a", CHILD, "-f", "-"),
            rig.run("-a", CHILD, "-t", table, "-T", "add", "203.0.113.7", "2001:db8::7"),
            rig.run("-a", CHILD, "-t", table, "-T", "delete", "2001:db8::7"));

    for (WrapperRig.Run run : runs) {
      assertEquals(0, run.exit(), run.stderr());
    }
    FakePfctl pf = FakePfctl.readFrom(dir.resolve("pfctl.state"));
    assertEquals(List.of(), pf.refusedCalls());
    assertEquals(Set.of("203.0.113.7"), pf.anchor(CHILD).orElseThrow().tables().get(table));
    assertTrue(
        pf.anchor(CHILD).orElseThrow().rules().stream().anyMatch(r -> r.startsWith("rdr ")),
        "the redirect loaded");
  }
}
