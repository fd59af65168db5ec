package dev.egress.cli;

import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.ParentAnchor;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** How egressctl runs pfctl and where egress-pf keeps its anchors. */
final class PfOptions {
  static final String PFCTL_ENVIRONMENT = "EGRESSCTL_PFCTL";

  @Option(
      names = "--pfctl-command",
      paramLabel = "COMMAND",
      description =
          "How to run pfctl as root, words separated by spaces"
              + " (default: $"
              + PFCTL_ENVIRONMENT
              + ", else 'sudo -n /sbin/pfctl').")
  private @Nullable String pfctlCommand;

  @Option(
      names = "--anchor",
      paramLabel = "ANCHOR",
      description = "egress-pf's parent anchor (default: ${DEFAULT-VALUE}).")
  private String parentAnchor = ParentAnchor.DEFAULT_PATH.value();

  List<String> command(CliHost host) {
    String text =
        pfctlCommand != null
            ? pfctlCommand
            : host.environment()
                .getOrDefault(PFCTL_ENVIRONMENT, String.join(" ", Pfctl.DEFAULT_COMMAND));
    List<String> words =
        Arrays.stream(text.trim().split("\\s+")).filter(w -> !w.isEmpty()).toList();
    if (words.isEmpty()) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: the pfctl command is empty");
    }
    return words;
  }

  ParentAnchor parent() {
    try {
      return new ParentAnchor(AnchorPath.of(parentAnchor), null, false);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: --anchor: " + e.getMessage());
    }
  }

  Pfctl pfctl(CliHost host) {
    return new Pfctl(host.processes(), command(host), Duration.ofSeconds(10));
  }
}
