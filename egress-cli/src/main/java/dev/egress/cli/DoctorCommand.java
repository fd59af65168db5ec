package dev.egress.cli;

import dev.egress.policy.EgressPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "doctor",
    mixinStandardHelpOptions = true,
    description = {
      "Check that this host can enforce egress policies, and say how to fix what is missing."
          + " Changes nothing.",
      "pf: sudo allows exactly the library's pfctl calls, pf enabled, 'anchor \"com.apple/*\"' in"
          + " the main ruleset, the parent anchor loaded, the managed network present, pflog0"
          + " present when a policy logs denials.",
      "nft: nft present, the egress table present, conntrack available.",
      "Exit status: 0 the host can enforce, 1 it can but something needs attention, 2 usage error,"
          + " 3 it cannot enforce."
    })
final class DoctorCommand implements Callable<Integer> {
  private final CliHost host;

  @Mixin private OutputOptions outputOptions = new OutputOptions();
  @Mixin private PfOptions pfOptions = new PfOptions();
  @Mixin private NftOptions nftOptions = new NftOptions();

  @Option(
      names = "--backend",
      paramLabel = "pf|nft",
      converter = BackendConverter.class,
      description = "The packet filter (default: pf on macOS, nft elsewhere).")
  private @Nullable Backend backend;

  @Option(names = "--json", description = "Print the findings as JSON.")
  private boolean json;

  @Option(
      names = "--network",
      paramLabel = "NAME",
      description = "pf: the container network managed containers run on.")
  private @Nullable String network;

  @Option(
      names = "--policy",
      paramLabel = "FILE",
      description =
          "A policy the host will enforce (repeatable); one that logs denials adds the pflog0 check.")
  private List<Path> policies = new ArrayList<>();

  DoctorCommand(CliHost host) {
    this.host = host;
  }

  @Override
  public Integer call() throws InterruptedException {
    Output output = outputOptions.open(host);
    boolean loggingAsked = false;
    for (Path file : policies) {
      EgressPolicy policy = PolicyFiles.read(file);
      loggingAsked |= policy.logDenied();
    }
    // doctor takes no --config: the guard is the --guard-* options' (none without them).
    PacketFilter filter =
        new GuardOptions()
            .packetFilter(
                backend != null ? backend : host.defaultBackend(), host, pfOptions, nftOptions);
    List<Finding> findings = filter.doctor(network, loggingAsked);
    boolean canEnforce = findings.stream().noneMatch(f -> f.severity() == Finding.Severity.FAIL);
    long warnings = findings.stream().filter(f -> f.severity() == Finding.Severity.WARN).count();
    if (json) {
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("backend", filter.kind().optionName());
      report.put("canEnforce", canEnforce);
      report.put("findings", findings.stream().map(Finding::toJson).toList());
      output.raw(Json.write(report));
    } else {
      for (Finding finding : findings) {
        print(output, finding);
      }
      long failures =
          findings.size()
              - warnings
              - findings.stream().filter(f -> f.severity() == Finding.Severity.OK).count();
      output.result(
          canEnforce
              ? "this host can enforce egress policies with "
                  + filter.kind().optionName()
                  + (warnings == 0
                      ? ""
                      : " (" + warnings + (warnings == 1 ? " warning)" : " warnings)"))
              : output.bad(
                      "this host cannot enforce egress policies with " + filter.kind().optionName())
                  + ": "
                  + failures
                  + (failures == 1 ? " problem" : " problems")
                  + " to fix");
    }
    return !canEnforce
        ? ExitCodes.CANNOT_ENFORCE
        : warnings > 0 ? ExitCodes.FINDINGS : ExitCodes.OK;
  }

  private static void print(Output output, Finding finding) {
    switch (finding.severity()) {
      case OK ->
          output.info(output.good("ok  ") + "  " + finding.check() + ": " + finding.message());
      case WARN ->
          output.result(output.warning("WARN") + "  " + finding.check() + ": " + finding.message());
      case FAIL ->
          output.result(output.bad("FAIL") + "  " + finding.check() + ": " + finding.message());
    }
    if (!finding.fix().isEmpty()) {
      output.result("      fix: " + finding.fix());
    }
  }
}
