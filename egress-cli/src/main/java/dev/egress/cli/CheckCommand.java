package dev.egress.cli;

import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.UserText;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description = {
      "Validate a policy file. Problems are printed as FILE:LINE:COLUMN: message, one a line.",
      "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error."
    })
final class CheckCommand implements Callable<Integer> {
  private final CliHost host;

  @Mixin private OutputOptions outputOptions = new OutputOptions();

  @Option(
      names = "--policy",
      required = true,
      paramLabel = "FILE",
      description = "The policy file.")
  private @Nullable Path policyFile;

  CheckCommand(CliHost host) {
    this.host = host;
  }

  @Override
  public Integer call() {
    Output output = outputOptions.open(host);
    Path file = Objects.requireNonNull(policyFile, "picocli sets the required --policy");
    EgressPolicy policy = PolicyFiles.read(file);
    String name = UserText.line(file.toString());
    for (Allowance allowance : policy.allowances()) {
      if (allowance.destination().equals(Destination.unsafeAnyAddress())) {
        output.note(
            name + ": warning: '" + allowance + "' turns egress control off for those ports");
      }
    }
    output.info(name + ": " + output.good("ok") + " (" + summary(policy) + ")");
    output.detail(policy.toString().stripTrailing());
    return ExitCodes.OK;
  }

  static String summary(EgressPolicy policy) {
    int rules = policy.allowances().size();
    return rules
        + (rules == 1 ? " allow rule, " : " allow rules, ")
        + policy.dns()
        + (policy.logDenied() ? ", denials logged" : ", denials not logged");
  }
}
