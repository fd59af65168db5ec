package dev.egress.examples.launcher;

import dev.egress.container.ContainerCli;
import dev.egress.container.DockerEngine;
import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The integration the examples README shows, kept here so that it compiles with every change (it
 * needs a Mac with pf and the container CLI to run).
 */
final class ReadmeIntegration {
  private ReadmeIntegration() {}

  static void run(Path policies, Path groupDir, ScheduledExecutorService scheduler)
      throws Exception {
    // --- README: begin ---
    IpNetwork v4 = IpNetwork.parse("10.213.0.0/24"); // used by managed containers only
    IpNetwork v6 = IpNetwork.parse("fd00:10:213::/64");
    EgressEnforcer enforcer =
        PfEgressEnforcer.builder() // or NftEgressEnforcer: same SPI
            .resolver(DnsNameResolver.builder().build())
            .parentAnchor(ParentAnchor.defaults().guarding(ManagedNetwork.of(v4, v6), true))
            .build();
    Launcher launcher =
        Launcher.builder(
                ContainerCli.onPath(),
                enforcer,
                PolicyRegistry.load(policies)) // policies/<group>.policy
            .image("nanoclaw-agent:latest")
            .managedNetwork(new ContainerNetwork("nanoclaw", v4, v6)) // macOS 26+
            .selfCheck(
                SelfCheck.of(
                    new SelfCheck.Probe(IpAddresses.parse("1.1.1.1"), 443), // must be denied
                    new SelfCheck.Probe(IpAddresses.parse("10.213.0.1"), 3001))) // gateway proxy
            .listener(event -> System.err.println(event))
            .build();
    launcher.start(); // stops orphans of a crashed launcher, drops their rules
    scheduler.scheduleWithFixedDelay(launcher::maintain, 5, 5, TimeUnit.SECONDS);

    ManagedContainer agent =
        launcher.launch(
            "main",
            spec ->
                spec // run → IP → attach → check
                    .mount(groupDir, "/workspace/group", false)
                    .command(List.of("sleep", "infinity"))); // idle until its work arrives
    agent.exec(List.of("node", "/app/agent-runner.js", "/workspace/group/input.json"));
    agent.stop(); // container stop, then detach
    // --- README: end ---
  }

  /** The README's Docker wiring (it needs Linux, root, nftables and a Docker daemon to run). */
  static void runOnDocker(Path policies, InetAddress resolver) throws Exception {
    // --- README (Docker): begin ---
    IpNetwork v4 = IpNetwork.parse("10.213.0.0/24"); // used by managed containers only
    IpNetwork v6 = IpNetwork.parse("fd00:213::/64");
    DockerEngine docker = DockerEngine.local("egress0"); // the managed network's bridge name
    EgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(DnsNameResolver.builder().build())
            .guard(new NftGuard(List.of("egress0"), List.of(v4, v6), true))
            .build();
    Launcher launcher =
        Launcher.builder(docker, enforcer, PolicyRegistry.load(policies))
            .image("nanoclaw-agent:latest")
            .managedNetwork(new ContainerNetwork("nanoclaw", v4, v6))
            .containerDns(List.of(resolver)) // --dns: the resolver the policies' dns lines name
            .build();
    launcher.start(); // network created if missing; orphans (by label) stopped; reconcile
    ManagedContainer agent =
        launcher.launch("main", spec -> spec.command(List.of("sleep", "infinity")));
    // --- README (Docker): end ---
    agent.stop();
  }
}
