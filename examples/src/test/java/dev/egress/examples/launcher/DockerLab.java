package dev.egress.examples.launcher;

import dev.egress.container.DockerEngine;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.lab.HostUplink;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Real Docker on the real kernel, for the Docker suite: the managed network {@value #NETWORK}
 * (bridge {@value #BRIDGE}, {@link #SUBNET} and {@link #SUBNET6}), the test image {@value #IMAGE}
 * (built by {@code scripts/docker-test-image}), an nftables enforcer in the table {@value #TABLE}
 * with its guard on that bridge and those subnets, and a {@link HostUplink} as the containers'
 * internet (its DNS server at {@link NetnsLab#dnsServer()} is the resolver containers are told to
 * use). Everything is named {@code egress-test...} and removed by {@link #close}; what a killed run
 * left is removed by the next {@link #start}.
 *
 * <p>Skipped where Docker cannot run (not Linux, not root, no daemon, no image, no nft) unless
 * {@code CI=true}: then it fails, like {@code LabRequirement}.
 */
final class DockerLab implements AutoCloseable {
  static final String IMAGE = "egress-test/busybox:1";
  static final String NETWORK = "egress-test-net";
  static final String BRIDGE = "egresstest0";
  static final String PREFIX = "egress-test";
  static final String TABLE = "egress_test";
  static final IpNetwork SUBNET = IpNetwork.parse("10.213.0.0/24");
  static final IpNetwork SUBNET6 = IpNetwork.parse("fd00:213::/64");

  static final SystemProcessRunner PROCESSES = new SystemProcessRunner();

  final HostUplink uplink;
  final Path policies;

  private DockerLab(HostUplink uplink, Path policies) {
    this.uplink = uplink;
    this.policies = policies;
  }

  static DockerEngine docker() {
    return new DockerEngine(DockerEngine.DEFAULT_SOCKET, Duration.ofSeconds(60), BRIDGE, PROCESSES);
  }

  static DockerLab start(Path root) throws IOException, InterruptedException {
    Optional<String> reason = unavailableReason();
    if (reason.isPresent()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail("CI=true and the Docker suite cannot run here: " + reason.get());
      }
      Assumptions.abort("Docker test skipped: " + reason.get());
    }
    removeLeftovers();
    HostUplink uplink = HostUplink.start();
    return new DockerLab(uplink, Files.createDirectories(root.resolve("policies")));
  }

  /** Why the suite cannot run here, or empty. */
  static Optional<String> unavailableReason() throws InterruptedException {
    Optional<String> lab = NetnsLab.unavailableReason("nft", "conntrack", "docker");
    if (lab.isPresent()) {
      return lab;
    }
    if (!run("docker", "info").succeeded()) {
      return Optional.of("no Docker daemon answers (scripts/start-docker starts one)");
    }
    if (!run("docker", "image", "inspect", IMAGE).succeeded()) {
      return Optional.of(
          "the image " + IMAGE + " is missing (scripts/docker-test-image builds it)");
    }
    return Optional.empty();
  }

  void writePolicy(String group, String text) throws IOException {
    Files.writeString(
        policies.resolve(group + PolicyRegistry.SUFFIX), text, StandardCharsets.UTF_8);
  }

  NftEgressEnforcer enforcer() {
    return enforcer(uplink.names());
  }

  static NftEgressEnforcer enforcer(NameResolver resolver) {
    return NftEgressEnforcer.builder()
        .resolver(resolver)
        .table(TABLE)
        .guard(new NftGuard(List.of(BRIDGE), List.of(SUBNET, SUBNET6), true))
        .build();
  }

  /** A started launcher on the managed network, its containers told to use the uplink's DNS. */
  Launcher launcher(NftEgressEnforcer enforcer, LauncherListener listener)
      throws IOException, LaunchException, InterruptedException {
    return launcher(policies, enforcer, listener);
  }

  static Launcher launcher(Path policies, NftEgressEnforcer enforcer, LauncherListener listener)
      throws IOException, LaunchException, InterruptedException {
    Launcher launcher =
        Launcher.builder(docker(), enforcer, PolicyRegistry.load(policies))
            .image(IMAGE)
            .namePrefix(PREFIX)
            .managedNetwork(new ContainerNetwork(NETWORK, SUBNET, SUBNET6))
            .containerDns(List.of(NetnsLab.dnsServer()))
            .listener(listener)
            .build();
    launcher.start();
    return launcher;
  }

  /** The rules of the enforcer's table as nft lists them, or "" when it does not exist. */
  static String table() throws InterruptedException {
    ProcessResult listing = run("nft", "list", "table", "inet", TABLE);
    return listing.succeeded() ? listing.stdout() : "";
  }

  static ProcessResult run(String... command) throws InterruptedException {
    try {
      return PROCESSES.run(new Command(List.of(command), "", Duration.ofSeconds(60)));
    } catch (IOException e) {
      throw new IllegalStateException("could not run " + String.join(" ", command), e);
    }
  }

  /** Containers, network and table of this suite, whoever left them. */
  static void removeLeftovers() throws InterruptedException {
    ProcessResult ids =
        run(
            "docker",
            "ps",
            "--all",
            "--quiet",
            "--filter",
            "label=" + Launcher.LAUNCHER_LABEL + "=" + PREFIX);
    List<String> remove = new ArrayList<>(List.of("docker", "rm", "--force"));
    for (String id : ids.stdout().split("\n")) {
      if (!id.isBlank()) {
        remove.add(id.strip());
      }
    }
    if (remove.size() > 3) {
      run(remove.toArray(String[]::new));
    }
    run("docker", "network", "rm", NETWORK);
    run("nft", "delete", "table", "inet", TABLE);
  }

  @Override
  public void close() throws InterruptedException, EgressException {
    removeLeftovers();
    uplink.close();
  }
}
