package dev.egress.cli;

import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import dev.egress.policy.UserText;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
    name = "cleanup",
    mixinStandardHelpOptions = true,
    description = {
      "Remove the rule sets of containers that no longer run, and kill their open connections."
          + " Rule sets of the containers named with --live are kept. Without --yes, only shows"
          + " what would be removed. Name every container that runs: a rule set removed while its"
          + " container runs leaves that container unfiltered, unless the managed network's guard"
          + " blocks it. --yes first makes the host ready as an attach would (filter enabled, parent"
          + " anchor or table loaded, with the guard the enforcer runs with): it needs --config FILE"
          + " (egressd's configuration), the --guard-* options as configured, or --no-guard, and"
          + " refuses without, since reloading without the guard would open the managed network."
          + " --live takes container ids; a rule-set name as status prints it is refused.",
      "Exit status: 0 nothing to remove (or all removed with --yes), 1 stale rule sets found"
          + " (dry run), 2 usage error, 3 a removal failed."
    })
final class CleanupCommand implements Callable<Integer> {
  private final CliHost host;

  @Spec private CommandSpec spec = CommandSpec.create();
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

  @Option(
      names = "--live",
      paramLabel = "ID",
      arity = "1..*",
      description = "Ids of the containers that still run (repeatable); their rule sets stay.")
  private List<String> live = new ArrayList<>();

  @Option(
      names = "--none-live",
      description = "No managed container runs: every rule set is stale.")
  private boolean noneLive;

  @Option(names = "--yes", description = "Remove them (default: only show what would be removed).")
  private boolean yes;

  CleanupCommand(CliHost host) {
    this.host = host;
  }

  @Override
  public Integer call() throws EgressException {
    Output output = outputOptions.open(host);
    if (live.isEmpty() == !noneLive) {
      throw new ParameterException(
          spec.commandLine(),
          live.isEmpty()
              ? "say which containers still run: --live ID... (or --none-live when none does)"
              : "--live and --none-live exclude each other");
    }
    Set<ContainerId> liveIds = liveIds();
    // Built first: contradicting options fail before anything is listed.
    PacketFilter filter =
        guardOptions.packetFilter(
            backend != null ? backend : host.defaultBackend(), host, pfOptions, nftOptions);
    List<InstalledRuleSet> installed = filter.ruleSets();
    refuseRuleSetNames(installed, filter::ruleSetName);
    Set<RuleSetName> keep = liveIds.stream().map(filter::ruleSetName).collect(Collectors.toSet());
    List<InstalledRuleSet> stale =
        installed.stream().filter(ruleSet -> !keep.contains(ruleSet.name())).toList();
    if (stale.isEmpty()) {
      output.info("nothing to clean up: every rule set belongs to a live container");
      return ExitCodes.OK;
    }
    if (!yes) {
      for (InstalledRuleSet ruleSet : stale) {
        output.result("would remove " + describe(ruleSet));
      }
      output.note("dry run: pass --yes to remove " + (stale.size() == 1 ? "it" : "them"));
      return ExitCodes.FINDINGS;
    }
    try (EgressEnforcer enforcer = filter.enforcer("cleanup --yes", NO_NAMES)) {
      ReconcileResult result = enforcer.reconcile(liveIds);
      for (InstalledRuleSet ruleSet : stale) {
        if (result.removed().contains(Subject.unowned(ruleSet.name()))) {
          output.result("removed " + describe(ruleSet));
        }
      }
      return ExitCodes.OK;
    }
  }

  private Set<ContainerId> liveIds() {
    Set<ContainerId> ids = new LinkedHashSet<>();
    for (String id : live) {
      try {
        ids.add(ContainerId.of(id));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--live: " + e.getMessage());
      }
    }
    return ids;
  }

  /**
   * Refuses a {@code --live} value that names an installed rule set, as {@code status} prints them,
   * but is not that rule set's container id: taking it for an id would remove the rules of the
   * container it names. (A pf anchor is often named as its id; that one passes.)
   */
  private void refuseRuleSetNames(
      List<InstalledRuleSet> installed, Function<ContainerId, RuleSetName> nameOf) {
    for (InstalledRuleSet ruleSet : installed) {
      String name = ruleSet.name().value();
      if (live.contains(name) && !nameOf.apply(ContainerId.of(name)).equals(ruleSet.name())) {
        throw new ParameterException(
            spec.commandLine(),
            "--live "
                + UserText.quote(ruleSet.name().value())
                + " is the name of an installed rule set (as status prints them), not a container"
                + " id: pass the ids of the containers that run (e.g. from 'container ls')");
      }
    }
  }

  private static String describe(InstalledRuleSet ruleSet) {
    return ruleSet.name()
        + " ("
        + ruleSet.location()
        + ", "
        + ruleSet.addresses().stream().map(IpAddresses::format).collect(Collectors.joining(" "))
        + ")";
  }

  /** Cleanup attaches nothing, so the enforcer never resolves a name; asking would be a bug. */
  private static final NameResolver NO_NAMES =
      new NameResolver() {
        @Override
        public Resolutions resolve(Set<HostName> names) {
          throw new IllegalStateException("cleanup resolves no names, but was asked for " + names);
        }

        @Override
        public Subscription subscribe(Set<HostName> names, Listener listener) {
          throw new IllegalStateException("cleanup resolves no names, but was asked for " + names);
        }
      };
}
