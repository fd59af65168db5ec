package dev.egress.cli;

import dev.egress.cli.VerifyProbe.Result;
import dev.egress.cli.VerifyProbe.Verdict;
import dev.egress.container.ContainerCli;
import dev.egress.container.ContainerCliException;
import dev.egress.enforcer.EgressException;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.pfctl.PfctlOutput;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessResult;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * verify's probes as they run in the throwaway container, in order, each judged against its control
 * (a probe expected to be refused counts only when its control, the same path to an allowed target,
 * passed), and the table they print.
 */
final class VerifyProbes {
  private static final String HELD_FILE = "/tmp/egress-verify-held";

  private final ContainerCli runtime;
  private final String id;
  private final VerifySession session;
  private final Set<String> skip;
  private final String image;
  private final String dnsName;
  private final int timeoutSeconds;
  private final Map<String, Result> results = new LinkedHashMap<>();

  /**
   * @param id the throwaway container the probes run in
   * @param skip the probes not to run ({@code --skip})
   * @param image the container's image, for the message when it lacks a tool
   * @param dnsName the name the DNS probes ask for
   * @param timeoutSeconds how long the held connection is waited for
   */
  VerifyProbes(
      ContainerCli runtime,
      String id,
      VerifySession session,
      Set<String> skip,
      String image,
      String dnsName,
      int timeoutSeconds) {
    this.runtime = runtime;
    this.id = id;
    this.session = session;
    this.skip = Set.copyOf(skip);
    this.image = image;
    this.dnsName = dnsName;
    this.timeoutSeconds = timeoutSeconds;
  }

  void tcp(String name, InetAddress target, int port, @Nullable String control)
      throws InterruptedException {
    String shown = endpoint(target, port);
    run(
        new VerifyProbe(
            name,
            shown + " tcp",
            control == null,
            control,
            List.of("nc", "-z", "-w", "3", IpAddresses.format(target), Integer.toString(port))));
  }

  void dns(String name, InetAddress server, @Nullable String control) throws InterruptedException {
    run(
        new VerifyProbe(
            name,
            endpoint(server, 53) + " udp",
            control == null,
            control,
            List.of("nslookup", dnsName, IpAddresses.format(server))));
  }

  void cannotRun(String name, String target, @Nullable String control, String why) {
    VerifyProbe probe = new VerifyProbe(name, target, control == null, control, List.of());
    results.put(name, skip.contains(name) ? probe.skipped() : probe.cannotRun(why));
  }

  /**
   * Adds an address the container does not own and sends from it: exit 3 means it could not be
   * added (no {@code ip}, no CAP_NET_ADMIN), which proves nothing.
   */
  void forged(InetAddress forged, InetAddress gateway, int port) throws InterruptedException {
    String address = IpAddresses.format(forged);
    String script =
        "ip addr add "
            + address
            + "/32 dev eth0 || exit 3; nc -z -w 3 -s "
            + address
            + " "
            + IpAddresses.format(gateway)
            + " "
            + port
            + "; r=$?; ip addr del "
            + address
            + "/32 dev eth0; exit $r";
    VerifyProbe probe =
        new VerifyProbe(
            "forged-source",
            endpoint(gateway, port) + " tcp from " + address,
            false,
            "gateway-service",
            List.of("sh", "-c", script));
    if (skip.contains(probe.name())) {
      results.put(probe.name(), probe.skipped());
      return;
    }
    ProcessResult result = exec(probe);
    if (result.exitCode() == 3 || result.exitCode() == 127) {
      results.put(
          probe.name(),
          probe.cannotRun(
              "could not add " + address + " (needs ip and CAP_NET_ADMIN): " + firstLine(result)));
      return;
    }
    judge(probe, result);
  }

  /**
   * Opens a connection to the listener, holds it (a byte a second), checks it is alive, detaches
   * the container, and checks it was cut, with the state table pfctl showed after the detach.
   */
  void held(
      InetAddress gateway,
      int port,
      VerifySession session,
      Pfctl pfctl,
      List<InetAddress> addresses,
      Map<String, String> evidence)
      throws InterruptedException {
    String target = endpoint(gateway, port) + " tcp, held";
    VerifyProbe before = new VerifyProbe("held-before-detach", target, true, null, List.of());
    VerifyProbe after =
        new VerifyProbe(
            "held-after-detach", target + ", after detach", false, "held-before-detach", List.of());
    if (skip.contains(before.name()) || skip.contains(after.name())) {
      results.put(before.name(), before.skipped());
      results.put(after.name(), after.skipped());
      detach(session);
      return;
    }
    String script =
        "((while :; do echo x; sleep 1; done) | nc "
            + IpAddresses.format(gateway)
            + " "
            + port
            + " > "
            + HELD_FILE
            + " 2>&1; echo closed >> "
            + HELD_FILE
            + ") </dev/null >/dev/null 2>&1 &";
    requireTools(execRaw(List.of("sh", "-c", script)), "sh -c (held connection)");
    String seen = awaitHeld(false);
    boolean alive = seen.contains(ProbeListener.GREETING) && !seen.contains("closed");
    Result beforeResult = before.judge(alive, null, describeHeld(seen));
    results.put(before.name(), beforeResult);
    try {
      session.detach();
    } catch (EgressException e) {
      // The rules stay; whether the connection survived is still worth seeing.
      evidence.put("detach", "failed: " + e.getMessage());
    }
    try {
      String states = pfctl.states();
      String naming =
          addresses.stream()
              .flatMap(a -> PfctlOutput.statesNaming(states, a).stream())
              .distinct()
              .collect(Collectors.joining("\n"));
      evidence.put(
          "pfctl -s state (after detach, lines naming the container)",
          naming.isEmpty() ? "(none)" : naming);
    } catch (PfctlException e) {
      evidence.put("pfctl -s state", "(pfctl failed: " + e.getMessage() + ")");
    }
    String afterSeen = alive ? awaitHeld(true) : seen;
    boolean stillAlive =
        afterSeen.contains(ProbeListener.GREETING) && !afterSeen.contains("closed");
    results.put(after.name(), after.judge(stillAlive, beforeResult, describeHeld(afterSeen)));
  }

  private void detach(VerifySession session) {
    try {
      session.detach();
    } catch (EgressException e) {
      throw VerifyCommand.failure("detach failed: " + e.getMessage());
    }
  }

  /** Polls the held connection's file until it shows the greeting (or, when cut, "closed"). */
  private String awaitHeld(boolean untilClosed) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    String seen = "";
    while (System.nanoTime() < deadline) {
      ProcessResult read = execRaw(List.of("cat", HELD_FILE));
      seen = read.succeeded() ? read.stdout() : "";
      if (untilClosed
          ? seen.contains("closed")
          : seen.contains(ProbeListener.GREETING) || seen.contains("closed")) {
        return seen;
      }
      Thread.sleep(VerifyCommand.POLL.toMillis());
    }
    return seen;
  }

  private String describeHeld(String seen) {
    if (seen.contains("closed")) {
      return "the connection ended";
    }
    return seen.contains(ProbeListener.GREETING)
        ? "the connection is open"
        : "nothing received after " + timeoutSeconds + " s";
  }

  private void run(VerifyProbe probe) throws InterruptedException {
    if (skip.contains(probe.name())) {
      results.put(probe.name(), probe.skipped());
      return;
    }
    ProcessResult result = exec(probe);
    requireTools(result, probe.command().get(0));
    judge(probe, result);
  }

  private void judge(VerifyProbe probe, ProcessResult result) {
    String control = probe.control();
    results.put(
        probe.name(),
        probe.judge(
            result.succeeded(),
            control == null ? null : results.get(control),
            result.succeeded() ? "" : firstLine(result)));
  }

  private ProcessResult exec(VerifyProbe probe) throws InterruptedException {
    return execRaw(probe.command());
  }

  private ProcessResult execRaw(List<String> command) throws InterruptedException {
    if (session.isClosed()) {
      throw VerifyCommand.failure("interrupted");
    }
    try {
      return runtime.exec(id, command);
    } catch (ContainerCliException e) {
      throw VerifyCommand.failure("cannot run a probe in the container: " + e.getMessage());
    }
  }

  /** A tool the image lacks makes every probe with it fail: that is an error, not a refusal. */
  private void requireTools(ProcessResult result, String tool) {
    if (result.exitCode() == 126 || result.exitCode() == 127) {
      throw VerifyCommand.failure(
          "the image "
              + image
              + " cannot run '"
              + tool
              + "' ("
              + firstLine(result)
              + "): pick an image with sh, sleep, nc and nslookup, such as "
              + VerifyCommand.IMAGE);
    }
  }

  List<Result> results(Map<String, String> evidence, Output output) {
    List<Result> ordered = new ArrayList<>();
    for (String name : VerifyCommand.PROBES) {
      Result result = results.get(name);
      if (result != null) {
        ordered.add(result);
      }
    }
    output.raw(table(ordered));
    StringBuilder text = new StringBuilder("\npfctl output relied on:\n");
    evidence.forEach(
        (command, shown) ->
            text.append("$ ")
                .append(command)
                .append('\n')
                .append(shown.isEmpty() ? "(empty)" : shown)
                .append('\n'));
    output.raw(text.toString());
    return ordered;
  }

  static String table(List<Result> results) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"probe", "target", "expected", "observed", "verdict", "detail"});
    for (Result result : results) {
      rows.add(
          new String[] {
            result.probe().name(),
            result.probe().target(),
            result.verdict() == Verdict.SKIPPED ? "-" : result.expected(),
            result.observed(),
            result.verdict().name().toLowerCase(Locale.ROOT),
            result.detail()
          });
    }
    int[] widths = new int[6];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    StringBuilder text = new StringBuilder();
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        line.append(i == row.length - 1 ? row[i] : String.format("%-" + widths[i] + "s  ", row[i]));
      }
      text.append(line.toString().stripTrailing()).append('\n');
    }
    return text.toString();
  }

  private static String endpoint(InetAddress address, int port) {
    String shown = IpAddresses.format(address);
    return (IpAddresses.isIpv6(address) ? "[" + shown + "]" : shown) + ":" + port;
  }

  private static String firstLine(ProcessResult result) {
    String text = (result.stderr() + "\n" + result.stdout()).strip();
    String line = text.lines().findFirst().orElse("");
    return "exit " + result.exitCode() + (line.isEmpty() ? "" : ": " + line);
  }
}
