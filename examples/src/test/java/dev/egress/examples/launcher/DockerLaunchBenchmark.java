package dev.egress.examples.launcher;

import dev.egress.examples.demo.BusyboxProbes;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Launch → working, enforced container on real Docker, against a plain {@code docker run} on a
 * plain network of the same kind (the managed one's guard would block it): a dual-stack bridge with
 * both addresses pinned, as the launcher's (an IPv6 network alone adds about a second to Docker's
 * start on our machine, egress control or not). Side by side in one run (each round alternates
 * which goes first). "Working" means a TCP connection from inside the container to an allowed
 * destination opened; with egress control a denied one must also be refused, checked after the
 * clock stops. Needs what the Docker suite needs (root, a Docker daemon, the test image). Argument:
 * rounds (default 15). Not run by {@code verify}.
 */
public final class DockerLaunchBenchmark {
  private static final String PLAIN_NETWORK = DockerLab.PREFIX + "-plain";

  private DockerLaunchBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    Path root = Files.createTempDirectory("egress-docker-bench");
    List<Long> controlled = new ArrayList<>();
    List<Long> plain = new ArrayList<>();
    try (DockerLab lab = DockerLab.start(root);
        NftEgressEnforcer enforcer = lab.enforcer()) {
      DockerLab.run("docker", "network", "rm", PLAIN_NETWORK);
      ProcessResult network =
          DockerLab.run(
              "docker",
              "network",
              "create",
              "--ipv6",
              "--subnet",
              "10.215.0.0/24",
              "--subnet",
              "fd00:215::/64",
              PLAIN_NETWORK);
      if (!network.succeeded()) {
        throw new IllegalStateException(network.summary());
      }
      lab.writePolicy("bench", "allow 10.99.0.10 port 443\ndns none\n");
      Launcher launcher = lab.launcher(enforcer, LauncherListener.NONE);
      BusyboxProbes probes = new BusyboxProbes(DockerLab.docker(), lab.uplink);
      for (int round = -2; round < rounds; round++) { // two warm-up rounds
        long[] pair = new long[2];
        for (int side : round % 2 == 0 ? new int[] {0, 1} : new int[] {1, 0}) {
          pair[side] = side == 0 ? controlled(launcher, probes) : plain(probes);
        }
        if (round >= 0) {
          controlled.add(pair[0]);
          plain.add(pair[1]);
        }
      }
      launcher.close();
    } finally {
      DockerLab.run("docker", "network", "rm", PLAIN_NETWORK);
    }
    long withControl = median(controlled);
    long without = median(plain);
    System.out.printf(
        "launch -> working container, %d rounds: with egress control median %d ms,"
            + " plain docker run median %d ms, ratio %.2f%n",
        rounds, withControl, without, (double) withControl / without);
  }

  private static long controlled(Launcher launcher, BusyboxProbes probes) throws Exception {
    long start = System.nanoTime();
    ManagedContainer container =
        launcher.launch("bench", spec -> spec.command(DockerLauncherMain.idle()));
    waitUntilConnected(probes, container.id());
    long elapsed = (System.nanoTime() - start) / 1_000_000;
    if (probes.tcp(container.id(), NetnsLab.web(0), 80)) {
      throw new IllegalStateException("the enforced container reached a denied destination");
    }
    container.stop();
    return elapsed;
  }

  private static long plain(BusyboxProbes probes) throws Exception {
    String name = DockerLab.PREFIX + "-plain";
    List<String> run =
        new ArrayList<>(
            List.of(
                "docker",
                "run",
                "--detach",
                "--rm",
                "--name",
                name,
                "--network",
                PLAIN_NETWORK,
                "--ip",
                "10.215.0.2",
                "--ip6",
                "fd00:215::2",
                DockerLab.IMAGE));
    run.addAll(DockerLauncherMain.idle());
    long start = System.nanoTime();
    ProcessResult started = DockerLab.run(run.toArray(String[]::new));
    if (!started.succeeded()) {
      throw new IllegalStateException(started.summary());
    }
    waitUntilConnected(probes, name);
    long elapsed = (System.nanoTime() - start) / 1_000_000;
    DockerLab.run("docker", "rm", "--force", name);
    return elapsed;
  }

  private static void waitUntilConnected(BusyboxProbes probes, String id) throws Exception {
    for (int i = 0; i < 50; i++) {
      if (probes.tcp(id, NetnsLab.web(0), 443)) {
        return;
      }
    }
    throw new IllegalStateException(id + " never reached " + IpAddresses.format(NetnsLab.web(0)));
  }

  private static long median(List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }
}
