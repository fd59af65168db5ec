package dev.egress.cli;

import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.IpAddresses;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

  @Override
  public Integer call() throws EgressException, InterruptedException {
    Output output = outputOptions.open(host);
    PacketFilter filter =
        guardOptions.packetFilter(
            backend != null ? backend : host.defaultBackend(), host, pfOptions, nftOptions);
    PacketFilter.Snapshot snapshot = filter.status();
    if (!filter.guardKnown()) {
      output.note(
          "the guard was checked as absent: pass --config FILE, the --guard-* options or"
              + " --no-guard to say which guard the enforcer runs with");
    }
    if (json) {
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("backend", filter.kind().optionName());
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
      if (snapshot.trafficError() != null) {
        report.put("trafficError", snapshot.trafficError());
      }
      report.put("drift", snapshot.drift());
      output.raw(Json.write(report));
    } else {
      print(output, filter.kind(), snapshot);
    }
    return snapshot.drift().isEmpty() ? ExitCodes.OK : ExitCodes.FINDINGS;
  }

  private static void print(Output output, Backend backend, PacketFilter.Snapshot snapshot) {
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
                          + (entries.isEmpty() ? "(empty)" : String.join(", ", entries))));
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
    if (snapshot.trafficError() != null) {
      output.note("traffic counters not read: " + snapshot.trafficError());
    }
    int count = snapshot.ruleSets().size();
    output.info(count + (count == 1 ? " rule set" : " rule sets") + " in " + backend.optionName());
    for (String problem : snapshot.drift()) {
      output.result(output.bad("drift") + ": " + problem);
    }
  }
}
