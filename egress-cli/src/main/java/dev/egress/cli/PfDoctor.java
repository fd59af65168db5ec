package dev.egress.cli;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.PfInspection;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.pfctl.SudoPasswordRequiredException;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The pf host checks. Read-only: every pfctl call is one the driver makes for reading ({@code -s
 * info}, {@code -s rules}, {@code -s Anchors}, {@code -T show}); sudo is only asked what it would
 * allow ({@code sudo -n -l}).
 */
final class PfDoctor {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final String PROBE_CHILD = "egressctl-doctor-probe";
  private static final String PROBE_ADDRESS = "192.0.2.1";

  private final ProcessRunner processes;
  private final Pfctl pfctl;
  private final List<String> command;
  private final ParentAnchor parent;
  private final PfInspection inspection;

  PfDoctor(ProcessRunner processes, Pfctl pfctl, List<String> command, ParentAnchor parent) {
    this.processes = processes;
    this.pfctl = pfctl;
    this.command = List.copyOf(command);
    this.parent = parent;
    this.inspection = new PfInspection(pfctl, parent);
  }

  List<Finding> check(@Nullable String network, boolean loggingAsked) throws InterruptedException {
    List<Finding> findings = new ArrayList<>();
    findings.addAll(sudo());
    boolean enabled;
    try {
      enabled = pfctl.isEnabled();
      findings.add(Finding.ok("pfctl runs", String.join(" ", command) + " -s info succeeded"));
    } catch (SudoPasswordRequiredException e) {
      findings.add(
          Finding.fail(
              "pfctl runs",
              "sudo asks for a password to run pfctl",
              "install a sudoers entry for the library's calls: see 'egressctl sudoers --help'"));
      return findings;
    } catch (PfctlException e) {
      findings.add(
          Finding.failure(
              "pfctl runs", e, "check --pfctl-command (now: " + String.join(" ", command) + ")"));
      return findings;
    }
    try {
      int ruleSets = inspection.childAnchors().size();
      findings.add(enabled(enabled, ruleSets));
      findings.add(hook());
      findings.add(parentAnchor(ruleSets));
    } catch (PfctlException e) {
      findings.add(Finding.failure("pf read-back", e, "run again with -v for details"));
    }
    findings.add(network(network));
    if (loggingAsked) {
      findings.add(pflog());
    }
    return findings;
  }

  private Finding hook() throws PfctlException {
    if (!parent.reachedByStockMacosRuleset()) {
      return Finding.warn(
          "main ruleset hook",
          "the parent anchor "
              + parent.path()
              + " is not a direct child of com.apple, so the stock"
              + " 'anchor \"com.apple/*\"' does not evaluate it",
          "use the default anchor "
              + ParentAnchor.DEFAULT_PATH
              + ", or add an anchor rule for it to the main ruleset yourself");
    }
    return inspection.mainRulesetHooked()
        ? Finding.ok("main ruleset hook", "the main ruleset holds anchor \"com.apple/*\"")
        : Finding.fail(
            "main ruleset hook",
            "the main ruleset has no 'anchor \"com.apple/*\"' (it was reloaded without it): no"
                + " container rule is evaluated",
            "restore the stock /etc/pf.conf, run 'sudo pfctl -f /etc/pf.conf', then restart the"
                + " container system ('container system stop; container system start'), because"
                + " that reload also drops vmnet's NAT");
  }

  private static Finding enabled(boolean enabled, int ruleSets) {
    if (enabled) {
      return Finding.ok("pf enabled", "pfctl -s info says Status: Enabled");
    }
    if (ruleSets == 0) {
      return Finding.ok(
          "pf enabled",
          "pf is disabled; the enforcer enables it (with a reference of"
              + " its own) before its first attach");
    }
    return Finding.fail(
        "pf enabled",
        "pf is disabled while "
            + ruleSets
            + " container rule set(s)"
            + " are loaded: no rule applies, those containers are unfiltered",
        "sudo pfctl -E (the enforcer's health check also does it), then find what disables pf");
  }

  private Finding parentAnchor(int children) throws PfctlException {
    if (inspection.parentEvaluatesChildren()) {
      return Finding.ok("parent anchor", parent.path() + " is loaded and evaluates its children");
    }
    if (children == 0) {
      return Finding.ok(
          "parent anchor",
          parent.path() + " is not loaded yet; the enforcer loads it" + " before its first attach");
    }
    return Finding.fail(
        "parent anchor",
        parent.path()
            + " is missing or altered while "
            + children
            + " container anchor(s) sit below"
            + " it: their rules are not evaluated, those containers are unfiltered",
        "let the enforcer repair it (its health check reloads the parent), or restart the launcher,"
            + " which reloads it before attaching");
  }

  /** Whether sudo lets the library run each of its calls, and nothing broader on pfctl itself. */
  private List<Finding> sudo() throws InterruptedException {
    if (!command.get(0).equals("sudo") && !command.get(0).endsWith("/sudo")) {
      return List.of(Finding.ok("sudo", "pfctl runs without sudo: " + String.join(" ", command)));
    }
    String program = command.get(command.size() - 1);
    // Named as a container's anchor would be, so that it fits below any parent the library takes.
    String child = parent.childPath(parent.childName(ContainerId.of(PROBE_CHILD))).value();
    List<List<String>> calls =
        List.of(
            List.of("-s", "info"),
            List.of("-s", "rules"),
            List.of("-E"),
            List.of("-a", parent.path().value(), "-s", "Anchors"),
            List.of("-a", parent.path().value(), "-f", "-"),
            List.of("-a", child, "-f", "-"),
            List.of("-a", child, "-s", "rules"),
            List.of("-a", child, "-F", "all"),
            List.of("-a", child, "-t", "probe", "-T", "show"),
            List.of("-a", child, "-t", "probe", "-T", "replace", "-f", "-"),
            List.of("-k", PROBE_ADDRESS),
            List.of("-k", "0.0.0.0/0", "-k", PROBE_ADDRESS));
    List<String> refused = new ArrayList<>();
    for (List<String> call : calls) {
      if (!sudoAllows(program, call)) {
        refused.add(String.join(" ", call));
      }
    }
    List<Finding> findings = new ArrayList<>();
    findings.add(
        refused.isEmpty()
            ? Finding.ok(
                "sudo",
                "sudo -n allows each of the library's " + calls.size() + " pfctl call forms")
            : Finding.fail(
                "sudo",
                "sudo -n refuses " + program + " " + String.join(", ", refused),
                "install the entry 'egressctl sudoers' prints (and its wrapper), then pass"
                    + " --pfctl-command 'sudo -n "
                    + SudoersCommand.DEFAULT_WRAPPER
                    + "'"));
    List<String> broad = new ArrayList<>();
    for (List<String> dangerous :
        List.of(List.of("-d"), List.of("-F", "all"), List.of("-f", "/etc/pf.conf"))) {
      if (sudoAllows("/sbin/pfctl", dangerous)) {
        broad.add("pfctl " + String.join(" ", dangerous));
      }
    }
    if (!broad.isEmpty()) {
      findings.add(
          Finding.warn(
              "sudo least privilege",
              "sudo also lets this user run "
                  + String.join(", ", broad)
                  + ": more than the library needs",
              "replace that sudoers entry with the one 'egressctl sudoers' prints"));
    }
    return findings;
  }

  private boolean sudoAllows(String program, List<String> args) throws InterruptedException {
    List<String> ask = new ArrayList<>(List.of(command.get(0), "-n", "-l", program));
    ask.addAll(args);
    return succeeds(ask);
  }

  private Finding network(@Nullable String network) throws InterruptedException {
    if (network == null) {
      return Finding.warn(
          "managed network",
          "no managed network named: between a container's start and its attach nothing blocks it",
          "create one ('container network create egress --subnet 192.168.70.0/24'), start managed"
              + " containers on it, guard it in the parent anchor, and pass --network egress here");
    }
    return succeeds(List.of("container", "network", "inspect", network))
        ? Finding.ok("managed network", "container network " + network + " exists")
        : Finding.warn(
            "managed network",
            "container network " + network + " was not found",
            "create it: container network create " + network + " --subnet SUBNET (macOS 26+)");
  }

  private Finding pflog() throws InterruptedException {
    return succeeds(List.of("ifconfig", "pflog0"))
        ? Finding.ok(
            "pflog0", "pflog0 exists: logged denials can be read with tcpdump -n -e -i pflog0")
        : Finding.warn(
            "pflog0",
            "a policy logs denials, but pflog0 does not exist: they go nowhere",
            "sudo ifconfig pflog0 create");
  }

  private boolean succeeds(List<String> commandLine) throws InterruptedException {
    try {
      ProcessResult result = processes.run(new Command(commandLine, TIMEOUT));
      return result.exitCode() == 0;
    } catch (IOException e) {
      return false;
    }
  }
}
