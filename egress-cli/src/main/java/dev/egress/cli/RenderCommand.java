package dev.egress.cli;

import dev.egress.core.ContainerRules;
import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.nftables.NftBackend;
import dev.egress.pf.render.ChildRuleset;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.Resolutions;
import dev.egress.policy.UserText;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
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
    name = "render",
    mixinStandardHelpOptions = true,
    description = {
      "Print exactly the ruleset that attaching POLICY to a container at ADDR would load, without"
          + " privileges and without changing anything. With --parent (pf), print the parent anchor"
          + " instead, with the guard of the managed network. With --backend nft, print the nft"
          + " script: the table, base chains and guard, then the container's rules.",
      "Host names are left unresolved (their tables empty, said on stderr) unless --resolve is"
          + " given, which asks DNS as the enforcer would.",
      "Exit status: 0 printed, 1 invalid policy or a policy the backend cannot enforce, 2 usage"
          + " error, 3 DNS could not be asked."
    })
final class RenderCommand implements Callable<Integer> {
  private final CliHost host;

  @Spec private CommandSpec spec = CommandSpec.create();
  @Mixin private OutputOptions outputOptions = new OutputOptions();
  @Mixin private NftOptions nftOptions = new NftOptions();

  @Option(
      names = "--policy",
      paramLabel = "FILE",
      description = "The policy file (required unless --parent).")
  private @Nullable Path policyFile;

  @Option(
      names = "--ip",
      paramLabel = "ADDR",
      description = "The container's IPv4 address (required unless --parent).")
  private @Nullable InetAddress ipv4;

  @Option(
      names = "--ip6",
      paramLabel = "ADDR",
      description = "The container's IPv6 address, if it has one.")
  private @Nullable InetAddress ipv6;

  @Option(
      names = "--gateway",
      paramLabel = "ADDR",
      description = "The container's gateway (needed when the policy uses it).")
  private @Nullable InetAddress gateway;

  @Option(
      names = "--id",
      paramLabel = "ID",
      description = "The container id, which names its rule set (default: ${DEFAULT-VALUE}).")
  private String containerId = "example";

  @Option(
      names = "--backend",
      paramLabel = "pf|nft",
      converter = BackendConverter.class,
      description = "The packet filter (default: pf on macOS, nft elsewhere).")
  private @Nullable Backend backend;

  @Option(
      names = "--resolve",
      negatable = true,
      description = "Resolve the policy's host names with DNS (default: --no-resolve).")
  private boolean resolve;

  @Option(
      names = "--dns-server",
      paramLabel = "ADDR[:PORT]",
      description = "With --resolve: the DNS server to ask (repeatable; default: the system's).")
  private List<String> dnsServers = new ArrayList<>();

  @Option(names = "--parent", description = "Print the parent anchor and its guard instead.")
  private boolean parent;

  @Option(
      names = "--anchor",
      paramLabel = "ANCHOR",
      description = "pf: the parent anchor (default: ${DEFAULT-VALUE}).")
  private String parentAnchor = ParentAnchor.DEFAULT_PATH.value();

  @Option(
      names = "--guard",
      paramLabel = "SUBNET",
      description =
          "With --parent: a subnet of the managed network to close by default (repeatable).")
  private List<String> guardSubnets = new ArrayList<>();

  @Option(
      names = "--bridge",
      paramLabel = "IF",
      description = "With --parent: the managed network's bridge (bridge101).")
  private @Nullable String bridge;

  @Option(names = "--log-guard", description = "With --parent: log what the guard blocks.")
  private boolean logGuard;

  RenderCommand(CliHost host) {
    this.host = host;
  }

  @Override
  public Integer call() throws InterruptedException {
    Output output = outputOptions.open(host);
    Backend chosen = backend != null ? backend : host.defaultBackend();
    if (chosen == Backend.NFT) {
      return renderNft(output);
    }
    ParentAnchor anchor = parentAnchor();
    if (parent) {
      output.raw(PfRenderer.renderParent(anchor));
      output.note("# would be loaded with: pfctl -a " + anchor.path() + " -f -");
      return ExitCodes.OK;
    }
    ContainerRules rules = containerRules(output, id -> anchor.childName(id).ruleSetName());
    ChildRuleset child;
    try {
      child = PfRenderer.renderChild(rules);
    } catch (UnsupportedPolicyException e) {
      throw new CommandFailure(
          ExitCodes.FINDINGS, "egressctl: pf cannot enforce " + policyFile + ": " + e.getMessage());
    }
    output.raw(child.text());
    output.note(
        "# would be loaded with: pfctl -a " + anchor.childPath(child.anchorName()) + " -f -");
    return ExitCodes.OK;
  }

  /**
   * The nftables backend's own preview: the table, its base chains and guard (which the first
   * attach loads), then the container's chain, sets and dispatch elements.
   */
  private int renderNft(Output output) throws InterruptedException {
    if (parent || !guardSubnets.isEmpty() || bridge != null || logGuard) {
      throw new ParameterException(
          spec.commandLine(),
          "--parent, --guard, --bridge and --log-guard"
              + " are pf's: with --backend nft the output already starts with the table and its base"
              + " chains, and the guard is set with --guard-interface and --guard-network");
    }
    NftBackend nft = nftOptions.backend(host.processes());
    ContainerRules rules = containerRules(output, nft::ruleSetName);
    try {
      nft.checkSupported(rules.policy());
    } catch (UnsupportedPolicyException e) {
      throw new CommandFailure(
          ExitCodes.FINDINGS,
          "egressctl: nftables cannot enforce " + policyFile + ": " + e.getMessage());
    }
    output.raw(nft.preview(rules));
    output.note(
        "# would be loaded with: nft -f - (the table and base chains by the first attach,"
            + " then the container's rules by its attach)");
    return ExitCodes.OK;
  }

  private ParentAnchor parentAnchor() {
    if (!parent && (!guardSubnets.isEmpty() || bridge != null || logGuard)) {
      throw new ParameterException(
          spec.commandLine(), "--guard, --bridge and --log-guard go with --parent");
    }
    try {
      ParentAnchor anchor = PfOptions.parentAnchor(parentAnchor);
      if (guardSubnets.isEmpty()) {
        if (bridge != null) {
          throw new ParameterException(spec.commandLine(), "--bridge needs --guard SUBNET");
        }
        return anchor;
      }
      List<IpNetwork> subnets = guardSubnets.stream().map(IpNetwork::parse).toList();
      ManagedNetwork network = new ManagedNetwork(subnets, bridge);
      return anchor.guarding(network, logGuard);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), String.valueOf(e.getMessage()));
    }
  }

  /**
   * The policy, container and resolutions as the enforcer would hand them to the backend, under the
   * backend's rule-set name for the container id.
   */
  ContainerRules containerRules(Output output, Function<ContainerId, RuleSetName> ruleSetName)
      throws InterruptedException {
    if (policyFile == null || ipv4 == null) {
      throw new ParameterException(
          spec.commandLine(), "--policy and --ip are required (unless --parent)");
    }
    if (IpAddresses.isIpv6(ipv4)) {
      throw new ParameterException(
          spec.commandLine(),
          "--ip takes the IPv4 address; give " + IpAddresses.format(ipv4) + " with --ip6");
    }
    if (ipv6 != null && !IpAddresses.isIpv6(ipv6)) {
      throw new ParameterException(
          spec.commandLine(), "--ip6 takes an IPv6 address, not " + IpAddresses.format(ipv6));
    }
    EgressPolicy policy = PolicyFiles.read(policyFile);
    if (policy.usesGateway() && gateway == null) {
      throw new CommandFailure(
          ExitCodes.FINDINGS,
          "egressctl: "
              + policyFile
              + " uses the gateway"
              + " (as a destination or as DNS resolver), so attach needs it: pass --gateway ADDR");
    }
    List<InetAddress> addresses = new ArrayList<>(List.of(ipv4));
    if (ipv6 != null) {
      addresses.add(ipv6);
    }
    ContainerEndpoint container;
    try {
      container = new ContainerEndpoint(ContainerId.of(containerId), addresses, gateway);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.FINDINGS, "egressctl: " + e.getMessage());
    }
    return new ContainerRules(
        ruleSetName.apply(container.id()), container, policy, resolutions(policy, output));
  }

  private Resolutions resolutions(EgressPolicy policy, Output output) throws InterruptedException {
    SortedSet<HostName> names = policy.hostNames();
    if (names.isEmpty()) {
      return Resolutions.none();
    }
    String list = names.stream().map(HostName::toString).collect(Collectors.joining(", "));
    if (!resolve) {
      output.note(
          "# host names not resolved (--no-resolve), so their tables are empty: "
              + list
              + "; pass --resolve to fill them");
      return Resolutions.none();
    }
    List<InetSocketAddress> servers = dnsServers.stream().map(this::socketAddress).toList();
    DnsNameResolver.Builder builder = DnsNameResolver.builder();
    if (!servers.isEmpty()) {
      builder.servers(servers);
    }
    DnsNameResolver resolver;
    try {
      resolver = builder.build();
    } catch (IllegalStateException e) {
      throw new CommandFailure(
          ExitCodes.CANNOT_ENFORCE,
          "egressctl: cannot set up DNS: " + e.getMessage() + "; pass --dns-server ADDR");
    }
    try (resolver) {
      Resolutions resolved = resolver.resolve(Set.copyOf(names));
      for (HostName name : names) {
        Set<InetAddress> found = resolved.addressesOf(name);
        if (found.isEmpty()) {
          output.note(
              "# " + name + " resolved to nothing: its table is empty (nothing to it is allowed)");
        } else {
          output.detail(
              "# "
                  + name
                  + " -> "
                  + found.stream()
                      .map(IpAddresses::format)
                      .sorted()
                      .collect(Collectors.joining(" ")));
        }
      }
      return resolved;
    }
  }

  private InetSocketAddress socketAddress(String text) {
    try {
      int colon = text.lastIndexOf(':');
      boolean bracketed = text.startsWith("[");
      if (bracketed) {
        int close = text.indexOf(']');
        InetAddress address = IpAddresses.parse(text.substring(1, close));
        int port = close + 1 < text.length() ? Integer.parseInt(text.substring(close + 2)) : 53;
        return new InetSocketAddress(address, port);
      }
      if (colon > 0 && text.indexOf(':') == colon) {
        return new InetSocketAddress(
            IpAddresses.parse(text.substring(0, colon)),
            Integer.parseInt(text.substring(colon + 1)));
      }
      return new InetSocketAddress(IpAddresses.parse(text), 53);
    } catch (IllegalArgumentException | StringIndexOutOfBoundsException e) {
      throw new ParameterException(
          spec.commandLine(),
          "--dns-server takes ADDR, ADDR:PORT or [IPV6]:PORT, not " + UserText.quote(text));
    }
  }
}
