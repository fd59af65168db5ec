package dev.egress.cli;

import dev.egress.core.Preview;
import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.Pfctl;
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
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.Callable;
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
    PacketFilter filter = packetFilter(backend != null ? backend : host.defaultBackend());
    Optional<ParentAnchor> anchor = filter.parentAnchor();
    if (anchor.isEmpty() && (parent || !guardSubnets.isEmpty() || bridge != null || logGuard)) {
      throw new ParameterException(
          spec.commandLine(),
          "--parent, --guard, --bridge and --log-guard"
              + " are pf's: with --backend nft the output already starts with the table and its"
              + " base chains, and the guard is set with --guard-interface and --guard-network");
    }
    if (parent) {
      output.raw(PfRenderer.renderParent(anchor.orElseThrow()));
      output.note("# would be loaded with: pfctl -a " + anchor.orElseThrow().path() + " -f -");
      return ExitCodes.OK;
    }
    EgressPolicy policy = policy();
    ContainerEndpoint container = container();
    Preview preview;
    try {
      preview = preview(filter, container, policy);
    } catch (UnsupportedPolicyException e) {
      throw new CommandFailure(
          ExitCodes.FINDINGS,
          "egressctl: "
              + filter.displayName()
              + " cannot enforce "
              + policyFile
              + ": "
              + e.getMessage());
    } catch (EgressException e) {
      throw new CommandFailure(
          ExitCodes.CANNOT_ENFORCE,
          "egressctl: cannot resolve the policy's names: " + e.getMessage());
    }
    noteResolutions(output, policy, preview);
    output.raw(preview.ruleset());
    output.note(filter.loadNote(preview));
    return ExitCodes.OK;
  }

  /**
   * What attaching would load, from the backend's own preview: an enforcer configured as the
   * options say, whose building and preview run no pfctl or nft. Names resolve through DNS with
   * {@code --resolve}, else not at all (their tables stay empty).
   */
  /**
   * The packet filter configured as the options say. A pf parent anchor is checked here, before the
   * policy is read; nftables' guard is the {@code --guard-*} options' (render takes no
   * configuration file, so no DNS filter either).
   */
  private PacketFilter packetFilter(Backend chosen) {
    return switch (chosen) {
      case PF -> PacketFilter.pf(host, Pfctl.DEFAULT_COMMAND, parentAnchor(), false);
      case NFT -> PacketFilter.nft(host, nftOptions, nftOptions.guard(), false, null);
    };
  }

  /**
   * What attaching would load, from the backend's own preview: an enforcer configured as the
   * options say, whose building and preview run no pfctl or nft. Names resolve through DNS with
   * {@code --resolve}, else not at all (their tables stay empty).
   */
  private Preview preview(PacketFilter filter, ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    if (!resolve || policy.hostNames().isEmpty()) {
      return filter.preview(UNRESOLVED, container, policy);
    }
    try (DnsNameResolver dns = dnsResolver()) {
      return filter.preview(dns, container, policy);
    }
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

  /** The policy file, which attach needs with a gateway when the policy uses it. */
  private EgressPolicy policy() {
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
    return policy;
  }

  private ContainerEndpoint container() {
    List<InetAddress> addresses = new ArrayList<>(List.of(Objects.requireNonNull(ipv4)));
    if (ipv6 != null) {
      addresses.add(ipv6);
    }
    try {
      return new ContainerEndpoint(ContainerId.of(containerId), addresses, gateway);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.FINDINGS, "egressctl: " + e.getMessage());
    }
  }

  private DnsNameResolver dnsResolver() {
    List<InetSocketAddress> servers = dnsServers.stream().map(this::socketAddress).toList();
    DnsNameResolver.Builder builder = DnsNameResolver.builder();
    if (!servers.isEmpty()) {
      builder.servers(servers);
    }
    try {
      return builder.build();
    } catch (IllegalStateException e) {
      throw new CommandFailure(
          ExitCodes.CANNOT_ENFORCE,
          "egressctl: cannot set up DNS: " + e.getMessage() + "; pass --dns-server ADDR");
    }
  }

  /** Says which names were left unresolved, or what each resolved to (empty ones loudly). */
  private void noteResolutions(Output output, EgressPolicy policy, Preview preview) {
    SortedSet<HostName> names = policy.hostNames();
    if (names.isEmpty()) {
      return;
    }
    if (!resolve) {
      output.note(
          "# host names not resolved (--no-resolve), so their tables are empty: "
              + names.stream().map(HostName::toString).collect(Collectors.joining(", "))
              + "; pass --resolve to fill them");
      return;
    }
    for (HostName name : names) {
      Set<InetAddress> found = preview.plan().addresses().getOrDefault(name, Set.of());
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
  }

  /** Knows no name: with {@code --no-resolve}, every name's table stays empty. */
  private static final NameResolver UNRESOLVED = NameResolver.fixed(Resolutions.none());

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
