package dev.egress.cli;

import dev.egress.cli.VerifyProbe.Result;
import dev.egress.cli.VerifyProbe.Verdict;
import dev.egress.container.ContainerCli;
import dev.egress.container.ContainerCliException;
import dev.egress.container.ContainerInfo;
import dev.egress.container.ContainerRunSpec;
import dev.egress.container.NetworkAttachment;
import dev.egress.container.PrefixedAddress;
import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.PfInspection;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code egressctl verify}: starts a throwaway container, attaches a policy to it with the pf
 * enforcer, runs {@link VerifyProbes} in it and removes all it set up, on Ctrl-C too.
 *
 * <p>Why one class of this size: a third of it is picocli options with their help text, and the
 * rest is one sequence (check the options, start, attach, probe, detach, clean up) whose steps
 * share the session and its shutdown hook; the probes are {@link VerifyProbes}'.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Check on this Mac, end to end, that pf enforces a policy on a real container: starts a"
          + " throwaway container on the managed network, attaches a policy of its own, probes from"
          + " inside, cuts a held connection by detaching, and removes everything again (also on"
          + " failure and Ctrl-C).",
      "Prints expected against observed for each probe, the pfctl output it relied on, and a"
          + " one-line summary to paste into an issue.",
      "The image needs sh, sleep, nc (with -z, -w and -s) and nslookup; the forged-source probe"
          + " also needs ip and CAP_NET_ADMIN (else --skip forged-source).",
      "Refuses to run while the parent anchor holds rule sets (an enforcer is running).",
      "Exit status: 0 every probe matched, 1 a probe did not match or proved nothing, 2 usage"
          + " error, 3 the check could not run or could not remove what it set up."
    })
final class VerifyCommand implements Callable<Integer> {
  static final String IMAGE = "docker.io/library/busybox:latest";
  static final String NETWORK = "egress";
  static final String ALLOW = "example.com:443";
  static final int REFUSED_PORT = 80;
  static final String REFUSE = "example.net:443";
  static final String FOREIGN_DNS = "1.1.1.1";

  /** Every probe name, in the order the table lists them, for {@code --skip}. */
  static final List<String> PROBES =
      List.of(
          "allowed",
          "refused-port",
          "refused-host",
          "ipv6-allowed",
          "ipv6-refused",
          "gateway-service",
          "gateway-other-port",
          "dns-gateway",
          "dns-foreign",
          "forged-source",
          "held-before-detach",
          "held-after-detach");

  static final Duration POLL = Duration.ofMillis(250);

  private final CliHost host;

  @Mixin private OutputOptions outputOptions = new OutputOptions();
  @Mixin private PfOptions pfOptions = new PfOptions();

  @Option(
      names = "--image",
      paramLabel = "IMAGE",
      description = "The throwaway container's image (default: ${DEFAULT-VALUE}).")
  private String image = IMAGE;

  @Option(
      names = "--network",
      paramLabel = "NAME",
      description =
          "The managed container network to start it on (default: ${DEFAULT-VALUE}); it must"
              + " exist ('container network create egress --subnet 192.168.70.0/24').")
  private String network = NETWORK;

  @Option(
      names = "--bridge",
      paramLabel = "IF",
      description =
          "The network's host bridge (bridge101): the guard then names it, as the enforcer's"
              + " should, which the forged-source probe outside the subnet relies on.")
  private @Nullable String bridge;

  @Option(
      names = "--allow",
      paramLabel = "HOST:PORT",
      description =
          "The destination the policy allows (default: ${DEFAULT-VALUE}); a name or an address"
              + " ([v6]:port).")
  private String allow = ALLOW;

  @Option(
      names = "--refused-port",
      paramLabel = "PORT",
      description = "A port of the allowed host the policy refuses (default: ${DEFAULT-VALUE}).")
  private int refusedPort = REFUSED_PORT;

  @Option(
      names = "--refuse",
      paramLabel = "HOST:PORT",
      description = "A destination the policy refuses (default: ${DEFAULT-VALUE}).")
  private String refuse = REFUSE;

  @Option(
      names = "--ipv6-target",
      paramLabel = "ADDRESS",
      description =
          "The IPv6 address the IPv6 probes reach on the allowed port (default: the allowed"
              + " host's first IPv6 address); the policy allows it.")
  private @Nullable InetAddress ipv6Target;

  @Option(
      names = "--foreign-dns",
      paramLabel = "ADDRESS",
      description =
          "A DNS server other than the gateway, which the policy ('dns gateway') refuses"
              + " (default: ${DEFAULT-VALUE}).")
  private InetAddress foreignDns = IpAddresses.parse(FOREIGN_DNS);

  @Option(
      names = "--dns-name",
      paramLabel = "NAME",
      description = "The name the DNS probes look up (default: ${DEFAULT-VALUE}).")
  private String dnsName = "example.com";

  @Option(
      names = "--skip",
      paramLabel = "PROBE",
      split = ",",
      description =
          "Probes not to run, e.g. ipv6-allowed,ipv6-refused on a host without IPv6 uplink,"
              + " forged-source for an image without ip or CAP_NET_ADMIN. Names: ${COMPLETION-CANDIDATES}.",
      completionCandidates = ProbeNames.class)
  private List<String> skip = new ArrayList<>();

  @Option(
      names = "--container-command",
      paramLabel = "PATH",
      description = "Apple's container CLI (default: ${DEFAULT-VALUE}).")
  private String containerCommand = "container";

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description =
          "How long the container may take to get its address, and a held connection to open"
              + " or be cut (default: ${DEFAULT-VALUE}).")
  private int timeoutSeconds = 30;

  VerifyCommand(CliHost host) {
    this.host = host;
  }

  /** The probe names, for picocli's help. */
  static final class ProbeNames extends ArrayList<String> {
    private static final long serialVersionUID = 1L;

    ProbeNames() {
      super(PROBES);
    }
  }

  /** A destination given as {@code HOST:PORT} or {@code [V6]:PORT}. */
  record Target(String host, int port) {
    static Target parse(String option, String text) {
      int colon = text.lastIndexOf(':');
      String hostPart = colon < 0 ? "" : text.substring(0, colon);
      if (hostPart.startsWith("[") && hostPart.endsWith("]")) {
        hostPart = hostPart.substring(1, hostPart.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(text.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = 0;
      }
      if (hostPart.isEmpty() || port < 1 || port > 65535) {
        throw new CommandFailure(
            ExitCodes.USAGE,
            "egressctl: " + option + " '" + text + "' is not HOST:PORT (port 1-65535)");
      }
      return new Target(hostPart, port);
    }

    boolean isAddress() {
      return IpAddresses.looksLikeAddress(host);
    }

    /** The host as a policy line names it. */
    String policyHost() {
      return isAddress() ? IpAddresses.format(IpAddresses.parse(host)) : HostName.of(host).ascii();
    }
  }

  @Override
  public Integer call() throws InterruptedException {
    Output output = outputOptions.open(host);
    for (String name : skip) {
      if (!PROBES.contains(name)) {
        throw new CommandFailure(
            ExitCodes.USAGE,
            "egressctl: --skip " + name + " is not a probe; the probes are " + PROBES);
      }
    }
    if (bridge != null) {
      try {
        ManagedNetwork.of(IpNetwork.parse("192.0.2.0/24")).onBridge(bridge);
      } catch (IllegalArgumentException e) {
        throw new CommandFailure(ExitCodes.USAGE, "egressctl: --bridge: " + e.getMessage());
      }
    }
    Target allowed = Target.parse("--allow", allow);
    Target refused = Target.parse("--refuse", refuse);
    if (refusedPort < 1 || refusedPort > 65535 || refusedPort == allowed.port()) {
      throw new CommandFailure(
          ExitCodes.USAGE,
          "egressctl: --refused-port must be 1-65535 and differ from --allow's port "
              + allowed.port());
    }
    ParentAnchor parent = pfOptions.parent();
    Pfctl pfctl = pfOptions.pfctl(host);
    requireParentUnused(pfctl, parent);

    ContainerCli runtime =
        new ContainerCli(host.processes(), containerCommand, Duration.ofSeconds(60));
    VerifySession session = new VerifySession(runtime, pfctl, parent.path());
    Thread hook = new Thread(() -> interrupted(session), "egressctl-verify-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    @Nullable DnsNameResolver dns = null;
    try {
      NameResolver resolver;
      if (allowed.isAddress() && refused.isAddress()) {
        resolver = NameResolver.fixed(Resolutions.none());
      } else {
        dns = dnsResolver();
        resolver = dns;
      }
      List<Result> results =
          run(output, runtime, session, pfctl, parent, resolver, allowed, refused);
      return finish(output, results);
    } catch (IOException e) {
      throw new CommandFailure(
          ExitCodes.CANNOT_ENFORCE,
          "egressctl: verify: cannot listen for probes: " + e.getMessage());
    } finally {
      if (dns != null) {
        dns.close();
      }
      List<String> left = session.removeAll();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The hook runs (or ran) the same removal.
      }
      if (!left.isEmpty()) {
        List<String> lines = new ArrayList<>();
        lines.add("egressctl: verify could not remove everything it set up:");
        left.forEach(line -> lines.add("  " + line));
        throw new CommandFailure(ExitCodes.CANNOT_ENFORCE, lines);
      }
    }
  }

  /** The shutdown hook (Ctrl-C): removes what the command set up and says so. */
  private void interrupted(VerifySession session) {
    if (session.isClosed()) {
      return;
    }
    List<String> left = session.removeAll();
    Output.diagnostic(
        host.err(),
        left.isEmpty()
            ? "egressctl: verify interrupted; removed the container, its rules and anchors"
            : "egressctl: verify interrupted; could not remove:\n" + String.join("\n", left));
  }

  private void requireParentUnused(Pfctl pfctl, ParentAnchor parent) throws InterruptedException {
    PfInspection inspection = new PfInspection(pfctl, parent);
    try {
      int ruleSets = inspection.childAnchors().size();
      if (ruleSets > 0 || inspection.parentEvaluatesChildren()) {
        throw new CommandFailure(
            ExitCodes.CANNOT_ENFORCE,
            "egressctl: verify loads and removes the parent anchor "
                + parent.path()
                + ", which is in use ("
                + ruleSets
                + " rule set(s)): run it before the enforcer starts, or stop the enforcer first");
      }
    } catch (PfctlException e) {
      throw new CommandFailure(
          ExitCodes.CANNOT_ENFORCE, "egressctl: verify: pfctl failed: " + e.getMessage());
    }
  }

  /** The system's DNS, for targets given as names; addresses need none. */
  private static DnsNameResolver dnsResolver() {
    try {
      return DnsNameResolver.builder().build();
    } catch (IllegalStateException e) {
      throw new CommandFailure(
          ExitCodes.CANNOT_ENFORCE,
          "egressctl: verify: cannot set up DNS to resolve the targets: "
              + e.getMessage()
              + "; give --allow and --refuse as addresses");
    }
  }

  private List<Result> run(
      Output output,
      ContainerCli runtime,
      VerifySession session,
      Pfctl pfctl,
      ParentAnchor parent,
      NameResolver resolver,
      Target allowed,
      Target refused)
      throws InterruptedException, IOException {
    InetAddress allowedV4 = address(resolver, allowed, false, "--allow");
    InetAddress refusedV4 = address(resolver, refused, false, "--refuse");
    @Nullable InetAddress v6 =
        ipv6Target != null ? ipv6Target : optionalAddress(resolver, allowed, true);

    if (refusedV4.equals(allowedV4)) {
      throw new CommandFailure(
          ExitCodes.USAGE,
          "egressctl: --refuse "
              + refuse
              + " is the allowed host, which the policy does not refuse: pick another host");
    }

    ProbeListener service = new ProbeListener();
    session.listener(service);
    ProbeListener otherPort = new ProbeListener();
    session.listener(otherPort);

    String id = "egress-verify-" + System.currentTimeMillis();
    output.info("starting " + image + " as " + id + " on network " + network);
    ContainerInfo container = start(runtime, session, id);
    InetAddress gateway =
        container
            .gateway()
            .orElseThrow(() -> failure("container " + id + " reports no IPv4 gateway"));
    InetAddress ipv4 =
        container.addresses().stream()
            .filter(a -> !IpAddresses.isIpv6(a))
            .findFirst()
            .orElseThrow(() -> failure("container " + id + " has no IPv4 address"));
    Optional<InetAddress> containerV6 =
        container.addresses().stream().filter(IpAddresses::isIpv6).findFirst();

    EgressPolicy policy = policy(allowed, service.port());
    ParentAnchor guarded = parent.guarding(guard(container), false);
    PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(host.processes())
            .pfctlCommand(pfOptions.command(host))
            .parentAnchor(guarded)
            .noHealthChecks()
            .build();
    session.enforcer(enforcer);
    ContainerId containerId = ContainerId.of(id);
    Attachment attachment;
    try {
      attachment =
          enforcer.attach(
              new ContainerEndpoint(containerId, container.addresses(), gateway), policy);
    } catch (EgressException e) {
      throw failure("attach failed: " + e.getMessage());
    }
    session.attachment(attachment);
    output.info("attached:\n  " + policy.toString().stripTrailing().replace("\n", "\n  "));
    AnchorPath child = guarded.childPath(guarded.childName(containerId));
    Map<String, String> evidence = new LinkedHashMap<>();
    evidence.put("pfctl -a " + guarded.path() + " -s rules", rules(pfctl, guarded.path()));
    evidence.put("pfctl -a " + child + " -s rules", rules(pfctl, child));

    VerifyProbes probes =
        new VerifyProbes(runtime, id, session, Set.copyOf(skip), image, dnsName, timeoutSeconds);
    probes.tcp("allowed", allowedV4, allowed.port(), null);
    probes.tcp("refused-port", allowedV4, refusedPort, "allowed");
    probes.tcp("refused-host", refusedV4, refused.port(), "allowed");
    if (v6 == null || containerV6.isEmpty()) {
      String why =
          containerV6.isEmpty()
              ? "the container has no IPv6 address"
              : allowed.host() + " has no IPv6 address: pass --ipv6-target";
      probes.cannotRun("ipv6-allowed", "[" + allowed.host() + "]:" + allowed.port(), null, why);
      probes.cannotRun(
          "ipv6-refused", "[" + allowed.host() + "]:" + refusedPort, "ipv6-allowed", why);
    } else {
      probes.tcp("ipv6-allowed", v6, allowed.port(), null);
      probes.tcp("ipv6-refused", v6, refusedPort, "ipv6-allowed");
    }
    probes.tcp("gateway-service", gateway, service.port(), null);
    probes.tcp("gateway-other-port", gateway, otherPort.port(), "gateway-service");
    probes.dns("dns-gateway", gateway, null);
    probes.dns("dns-foreign", foreignDns, "dns-gateway");
    probes.forged(forgedAddress(container, ipv4), gateway, service.port());
    probes.held(gateway, service.port(), session, pfctl, container.addresses(), evidence);
    return probes.results(evidence, output);
  }

  private ContainerInfo start(ContainerCli runtime, VerifySession session, String id)
      throws InterruptedException {
    session.container(id);
    try {
      runtime.create(
          ContainerRunSpec.builder(id, image)
              .network(network)
              .label("dev.egress.verify", "throwaway")
              // Bounded even if everything else fails: it ends by itself.
              .command(List.of("sleep", "600"))
              .build());
      long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
      while (true) {
        Optional<ContainerInfo> info = runtime.inspect(id);
        if (info.isPresent() && !info.get().addresses().isEmpty()) {
          return info.get();
        }
        if (info.isEmpty() || System.nanoTime() > deadline) {
          throw failure(
              "container "
                  + id
                  + (info.isEmpty()
                      ? " is gone (did the image's sleep exit?)"
                      : " has no address after " + timeoutSeconds + " s"));
        }
        Thread.sleep(POLL.toMillis());
      }
    } catch (ContainerCliException e) {
      throw failure("cannot start the container: " + e.getMessage());
    }
  }

  /** The container's networks: what the guard closes, as the enforcer's guard would. */
  private ManagedNetwork guard(ContainerInfo container) {
    List<IpNetwork> subnets = new ArrayList<>();
    for (NetworkAttachment attachment : container.networks()) {
      PrefixedAddress v4 = attachment.ipv4();
      PrefixedAddress v6 = attachment.ipv6();
      if (v4 != null) {
        subnets.add(v4.network());
      }
      if (v6 != null) {
        subnets.add(v6.network());
      }
    }
    ManagedNetwork managed = new ManagedNetwork(subnets, null);
    return bridge == null ? managed : managed.onBridge(bridge);
  }

  private EgressPolicy policy(Target allowed, int servicePort) {
    StringBuilder text = new StringBuilder();
    text.append("allow ").append(allowed.policyHost()).append(" port ").append(allowed.port());
    text.append('\n');
    if (ipv6Target != null) {
      text.append("allow ").append(IpAddresses.format(ipv6Target));
      text.append(" port ").append(allowed.port()).append('\n');
    }
    text.append("allow gateway port ").append(servicePort).append('\n');
    text.append("dns gateway\n");
    try {
      return PolicyText.parse(text.toString(), "egressctl verify");
    } catch (PolicySyntaxException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: verify: " + e.getMessage());
    }
  }

  /**
   * An address of the subnet that no container of it uses (the last but one), or, with a named
   * bridge, one outside it: what a guest that changed its source address would send from.
   */
  private InetAddress forgedAddress(ContainerInfo container, InetAddress own) {
    if (bridge != null) {
      return IpAddresses.parse("198.18.0.1");
    }
    PrefixedAddress prefixed =
        container.networks().stream()
            .map(NetworkAttachment::ipv4)
            .filter(a -> a != null && a.address().equals(own))
            .findFirst()
            .orElseThrow();
    byte[] bytes = prefixed.network().address().getAddress();
    int hostBits = 32 - prefixed.prefixLength();
    long last = (1L << hostBits) - 2; // the broadcast is last; the one before it
    long base =
        ((bytes[0] & 0xffL) << 24)
            | ((bytes[1] & 0xffL) << 16)
            | ((bytes[2] & 0xffL) << 8)
            | (bytes[3] & 0xffL);
    long forged = base + Math.max(1, last - 1);
    return IpAddresses.fromBytes(
        new byte[] {
          (byte) (forged >>> 24), (byte) (forged >>> 16), (byte) (forged >>> 8), (byte) forged
        });
  }

  private static InetAddress address(
      NameResolver resolver, Target target, boolean ipv6, String option)
      throws InterruptedException {
    InetAddress found = optionalAddress(resolver, target, ipv6);
    if (found == null) {
      throw failure(
          option + " " + target.host() + " has no " + (ipv6 ? "IPv6" : "IPv4") + " address");
    }
    return found;
  }

  private static @Nullable InetAddress optionalAddress(
      NameResolver resolver, Target target, boolean ipv6) throws InterruptedException {
    if (target.isAddress()) {
      InetAddress address = IpAddresses.parse(target.host());
      return IpAddresses.isIpv6(address) == ipv6 ? address : null;
    }
    HostName name = HostName.of(target.host());
    return resolver.resolve(Set.of(name)).addressesOf(name).stream()
        .filter(a -> IpAddresses.isIpv6(a) == ipv6)
        .sorted(java.util.Comparator.comparing(IpAddresses::format))
        .findFirst()
        .orElse(null);
  }

  private static String rules(Pfctl pfctl, AnchorPath anchor) throws InterruptedException {
    try {
      return String.join("\n", pfctl.rules(anchor));
    } catch (PfctlException e) {
      return "(pfctl failed: " + e.getMessage() + ")";
    }
  }

  static CommandFailure failure(String message) {
    return new CommandFailure(ExitCodes.CANNOT_ENFORCE, "egressctl: verify: " + message);
  }

  private Integer finish(Output output, List<Result> results) {
    long matched = results.stream().filter(r -> r.verdict() == Verdict.MATCH).count();
    long skipped = results.stream().filter(r -> r.verdict() == Verdict.SKIPPED).count();
    List<String> failed =
        results.stream()
            .filter(r -> r.verdict() == Verdict.MISMATCH || r.verdict() == Verdict.INCONCLUSIVE)
            .map(r -> r.probe().name() + " " + r.verdict().name().toLowerCase(Locale.ROOT))
            .toList();
    String summary =
        "egressctl verify: "
            + (failed.isEmpty() ? "PASS" : "FAIL")
            + " "
            + matched
            + "/"
            + (results.size() - skipped)
            + " probes matched"
            + (failed.isEmpty() ? "" : " (" + String.join(", ", failed) + ")")
            + (skipped == 0
                ? ""
                : "; skipped "
                    + results.stream()
                        .filter(r -> r.verdict() == Verdict.SKIPPED)
                        .map(r -> r.probe().name())
                        .collect(Collectors.joining(",")))
            + "; pf, container CLI '"
            + containerCommand
            + "', image "
            + image
            + ", network "
            + network
            + (bridge == null ? "" : " on " + bridge)
            + ", os "
            + host.osName();
    output.result(summary);
    return failed.isEmpty() ? ExitCodes.OK : ExitCodes.FINDINGS;
  }
}
