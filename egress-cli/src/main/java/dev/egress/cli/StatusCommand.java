package dev.egress.cli;

import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.nftables.NftBackend;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.PfInspection;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Show the containers' rule sets as the kernel holds them: each rule set with the source"
          + " addresses it governs, its rule count, its address tables' contents and what its"
          + " rules let through and refused (packets and bytes since it was last loaded), and"
          + " host-wide"
          + " drift (filter disabled, hook or parent anchor missing, guard missing or altered)."
          + " The guard is checked against --config FILE (egressd's configuration), the --guard-*"
          + " options, or --no-guard; without one of them, as if the enforcer ran without one."
          + " Read-only.",
      "Exit status: 0 no drift, 1 drift found, 2 usage error, 3 the kernel could not be read."
    })
final class StatusCommand implements Callable<Integer> {
  private final CliHost host;

  @Mixin private OutputOptions outputOptions = new OutputOptions();
  @Mixin private PfOptions pfOptions = new PfOptions();
  @Mixin private NftOptions nftOptions = new NftOptions();
  @Mixin private GuardOptions guardOptions = new GuardOptions();

  @Option(
      names = "--backend",
      paramLabel = "pf|nft",
      converter = BackendConverter.class,
      description = "The packet filter (default: pf on macOS, nft elsewhere).")
  private @Nullable Backend backend;

  @Option(names = "--json", description = "Print the status as JSON.")
  private boolean json;

  StatusCommand(CliHost host) {
    this.host = host;
  }

  /**
   * What the kernel holds, and what is wrong host-wide.
   *
   * @param traffic each rule set's counters ({@link TrafficCounters}), read with the rule sets
   */
  record Snapshot(
      List<InstalledRuleSet> ruleSets,
      Map<RuleSetName, TrafficCounters> traffic,
      List<String> drift) {}

  @Override
  public Integer call() throws EgressException, InterruptedException {
    Output output = outputOptions.open(host);
    Backend chosen = backend != null ? backend : host.defaultBackend();
    Snapshot snapshot =
        switch (chosen) {
          case PF -> {
            Optional<ParentAnchor> parent = guardOptions.pfParent(pfOptions);
            yield pfSnapshot(pfOptions.pfctl(host), parent.orElse(pfOptions.parent()), parent);
          }
          case NFT -> {
            Optional<NftGuard> guard = guardOptions.nftGuard(nftOptions);
            yield nftSnapshot(
                nftOptions.backend(host.processes(), guard.orElse(NftGuard.none())),
                nftOptions.table());
          }
        };
    if (!guardOptions.guardKnown(chosen, nftOptions)) {
      output.note(
          "the guard was checked as absent: pass --config FILE, the --guard-* options or"
              + " --no-guard to say which guard the enforcer runs with");
    }
    if (json) {
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("backend", chosen.optionName());
      List<Map<String, Object>> ruleSets = new ArrayList<>();
      for (InstalledRuleSet ruleSet : snapshot.ruleSets()) {
        Map<String, Object> ruleSetJson = ruleSet.toJson();
        TrafficCounters traffic = snapshot.traffic().get(ruleSet.name());
        if (traffic != null) {
          Map<String, Object> trafficJson = new LinkedHashMap<>();
          trafficJson.put("allowedPackets", traffic.allowedPackets());
          trafficJson.put("allowedBytes", traffic.allowedBytes());
          trafficJson.put("refusedPackets", traffic.refusedPackets());
          trafficJson.put("refusedBytes", traffic.refusedBytes());
          ruleSetJson.put("traffic", trafficJson);
        }
        ruleSets.add(ruleSetJson);
      }
      report.put("ruleSets", ruleSets);
      report.put("drift", snapshot.drift());
      output.raw(Json.write(report));
    } else {
      print(output, chosen, snapshot);
    }
    return snapshot.drift().isEmpty() ? ExitCodes.OK : ExitCodes.FINDINGS;
  }

  private static void print(Output output, Backend backend, Snapshot snapshot) {
    for (InstalledRuleSet ruleSet : snapshot.ruleSets()) {
      output.result(
          ruleSet.name()
              + "  "
              + ruleSet.addresses().stream()
                  .map(IpAddresses::format)
                  .collect(Collectors.joining(" "))
              + "  ("
              + ruleSet.rules()
              + " rules in "
              + ruleSet.location()
              + ")");
      ruleSet
          .tables()
          .forEach(
              (table, entries) ->
                  output.result(
                      "  <"
                          + table
                          + "> "
                          + (entries.isEmpty() ? "(empty)" : String.join(" ", entries))));
      TrafficCounters traffic = snapshot.traffic().get(ruleSet.name());
      if (traffic != null) {
        output.result(
            "  allowed "
                + traffic.allowedPackets()
                + " packets ("
                + traffic.allowedBytes()
                + " bytes), refused "
                + traffic.refusedPackets()
                + " packets ("
                + traffic.refusedBytes()
                + " bytes)");
      }
    }
    int count = snapshot.ruleSets().size();
    output.info(count + (count == 1 ? " rule set" : " rule sets") + " in " + backend.optionName());
    for (String problem : snapshot.drift()) {
      output.result(output.bad("drift") + ": " + problem);
    }
  }

  static Snapshot nftSnapshot(NftBackend backend, String table) throws EgressException {
    List<InstalledRuleSet> ruleSets = new ArrayList<>();
    for (NftBackend.LoadedRuleSet loaded : backend.loaded()) {
      Map<String, List<String>> sets = new LinkedHashMap<>();
      loaded
          .sets()
          .forEach(
              (set, elements) ->
                  sets.put(set, elements.stream().map(IpAddresses::format).sorted().toList()));
      ruleSets.add(
          new InstalledRuleSet(
              loaded.name(),
              "table inet " + table + " chain " + loaded.name(),
              loaded.addresses(),
              loaded.rules().size(),
              sets));
    }
    // No table and no rule set is a host where nothing was attached yet, not drift.
    List<String> drift =
        ruleSets.isEmpty() && !backend.tableLoaded() ? List.of() : backend.hostProblems();
    return new Snapshot(ruleSets, backend.counters(), drift);
  }

  /**
   * @param parent the parent anchor to read
   * @param known the parent as the enforcer runs it, guard included, when known: then it is
   *     compared exactly, and a lost guard is drift
   */
  static Snapshot pfSnapshot(Pfctl pfctl, ParentAnchor parent, Optional<ParentAnchor> known)
      throws EgressException {
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
    if (known.isPresent()) {
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
    return new Snapshot(ruleSets, Map.copyOf(inspection.counters()), drift);
  }
}
