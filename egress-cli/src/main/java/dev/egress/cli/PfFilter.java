package dev.egress.cli;

import dev.egress.core.Preview;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.RuleSetName;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.PfInspection;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.EgressPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** pf through pfctl, below one parent anchor. */
final class PfFilter implements PacketFilter {
  private final CliHost host;
  private final List<String> command;
  private final ParentAnchor parent;
  private final boolean guardKnown;
  private final Pfctl pfctl;

  PfFilter(CliHost host, List<String> command, ParentAnchor parent, boolean guardKnown) {
    this.host = host;
    this.command = List.copyOf(command);
    this.parent = parent;
    this.guardKnown = guardKnown;
    this.pfctl = new Pfctl(host.processes(), this.command, Duration.ofSeconds(10));
  }

  @Override
  public Backend kind() {
    return Backend.PF;
  }

  @Override
  public String displayName() {
    return "pf";
  }

  @Override
  public Optional<ParentAnchor> parentAnchor() {
    return Optional.of(parent);
  }

  @Override
  public Preview preview(NameResolver resolver, ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    try (PfEgressEnforcer enforcer = builder(resolver).build()) {
      return enforcer.preview(container, policy);
    }
  }

  @Override
  public String loadNote(Preview preview) {
    return "# would be loaded with: " + preview.loadCommand();
  }

  @Override
  public List<Finding> doctor(@Nullable String network, boolean loggingAsked)
      throws InterruptedException {
    return new PfDoctor(host.processes(), pfctl, command, parent).check(network, loggingAsked);
  }

  @Override
  public Snapshot status() throws EgressException {
    PfInspection inspection = new PfInspection(pfctl, parent);
    List<InstalledRuleSet> ruleSets = new ArrayList<>();
    for (PfInspection.LoadedAnchor anchor : inspection.childAnchors()) {
      ruleSets.add(InstalledRuleSet.of(anchor, inspection.tables(anchor)));
    }
    List<String> drift = new ArrayList<>();
    if (!pfctl.isEnabled()) {
      drift.add(
          "pf is disabled: no rule applies (the enforcer re-enables it on its next health"
              + " check or attach; to enable it now: sudo pfctl -E)");
    }
    if (parent.reachedByStockMacosRuleset() && !inspection.mainRulesetHooked()) {
      drift.add(
          "the main ruleset lost 'anchor \"com.apple/*\"': no container rule is evaluated"
              + " (see 'egressctl doctor' for the fix)");
    }
    if (guardKnown) {
      // The parent is known exactly, guard included: a lost guard is drift too.
      if ((!ruleSets.isEmpty() || parent.guard() != null) && !inspection.parentIntact()) {
        drift.add(
            "the parent anchor "
                + parent.path()
                + " is missing or altered"
                + (parent.guard() != null ? " (its guard included)" : "")
                + ": the enforcer reloads it on its next health check");
      }
    } else if (!ruleSets.isEmpty() && !inspection.parentEvaluatesChildren()) {
      drift.add(
          "the parent anchor "
              + parent.path()
              + " is missing or altered: the rule sets above"
              + " are not evaluated (the enforcer reloads it on its next health check)");
    }
    return Snapshot.readingCounters(ruleSets, () -> Map.copyOf(inspection.counters()), drift);
  }

  @Override
  public List<InstalledRuleSet> ruleSets() throws EgressException {
    List<InstalledRuleSet> installed = new ArrayList<>();
    for (PfInspection.LoadedAnchor anchor : new PfInspection(pfctl, parent).childAnchors()) {
      installed.add(InstalledRuleSet.of(anchor, Map.of()));
    }
    return installed;
  }

  @Override
  public RuleSetName ruleSetName(ContainerId container) {
    return parent.childName(container);
  }

  @Override
  public boolean guardKnown() {
    return guardKnown;
  }

  @Override
  public String hook() {
    return "the parent anchor " + parent.path();
  }

  @Override
  public EgressEnforcer configuredEnforcer(NameResolver resolver) {
    return builder(resolver).noHealthChecks().build();
  }

  private PfEgressEnforcer.Builder builder(NameResolver resolver) {
    return PfEgressEnforcer.builder()
        .resolver(resolver)
        .processRunner(host.processes())
        .pfctlCommand(command)
        .parentAnchor(parent);
  }
}
