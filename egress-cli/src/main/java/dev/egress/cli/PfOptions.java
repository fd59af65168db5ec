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
      return parentAnchor(parentAnchor);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: --anchor: " + e.getMessage());
    }
  }

  /**
   * The parent anchor at {@code path}, without a guard.
   *
   * @throws IllegalArgumentException if it is not an anchor path strictly below {@code com.apple/}
   */
  static ParentAnchor parentAnchor(String path) {
    AnchorPath anchor = AnchorPath.of(path);
    requireBelowComApple(anchor);
    return new ParentAnchor(anchor, null, false);
  }

  /**
   * egressctl works only with parents strictly below {@code com.apple/}: the stock pf.conf
   * evaluates that tree, and a parent at {@code com.apple} itself would make Apple's own anchors
   * ({@code com.apple/250.ApplicationFirewall}) its children, to be flushed as stale.
   *
   * @throws IllegalArgumentException otherwise
   */
  static void requireBelowComApple(AnchorPath path) {
    if (!path.value().startsWith("com.apple/")) {
      throw new IllegalArgumentException(
          "'"
              + path
              + "' is not below com.apple/: egressctl keeps its anchors strictly below com.apple/,"
              + " which the stock pf.conf evaluates, such as "
              + ParentAnchor.DEFAULT_PATH);
    }
  }

  Pfctl pfctl(CliHost host) {
    return new Pfctl(host.processes(), command(host), Duration.ofSeconds(10));
  }
}
