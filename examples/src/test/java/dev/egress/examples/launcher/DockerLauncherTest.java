package dev.egress.examples.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import dev.egress.examples.demo.BusyboxProbes;
import dev.egress.examples.demo.TcpListener;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessResult;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher on real Docker, enforced by nftables on the real kernel: every probe is a real
 * packet sent from inside a container with {@code docker exec} and busybox, to the {@link
 * dev.egress.lab.HostUplink}'s servers (forward path) or to listeners on the bridge's gateway
 * address (input path). Whether a TCP connection or a datagram arrived is also counted on the
 * server side.
 */
class DockerLauncherTest {
  private static final String API = "api.example.test";
  private static final InetAddress GATEWAY = IpAddresses.parse("10.213.0.1");

  @TempDir Path root;
  private DockerLab lab;
  private NftEgressEnforcer enforcer;
  private Launcher launcher;
  private final List<LauncherEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startLab() throws Exception {
    lab = DockerLab.start(root);
    lab.uplink.names().set(API, Duration.ofSeconds(30), NetnsLab.web(0), NetnsLab.webV6(0));
  }

  @AfterEach
  void stopLab() throws Exception {
    if (launcher != null) {
      launcher.close();
    }
    if (enforcer != null) {
      enforcer.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  private Launcher startLauncher() throws Exception {
    enforcer = lab.enforcer();
    launcher = lab.launcher(enforcer, events::add);
    return launcher;
  }

  @Test
  void probesFromInside_reachOnlyWhatThePolicyAllows() throws Exception {
    lab.writePolicy(
        "agent",
        "allow "
            + API
            + " port 443\n"
            + "allow gateway port 3001\n"
            + "allow 10.99.0.11 port 3478 proto udp\n"
            + "dns 10.99.0.53\n"
            + "log denied\n");
    startLauncher();
    try (TcpListener proxy = new TcpListener(GATEWAY, 3001);
        TcpListener ssh = new TcpListener(GATEWAY, 2222)) {
      ManagedContainer agent = launcher.launch("agent", spec -> spec.command(idle()));
      int accepted443 = lab.uplink.accepted(443);
      int accepted80 = lab.uplink.accepted(80);

      assertTrue(tcp(agent, NetnsLab.web(0), 443), "allowed name, IPv4");
      assertTrue(tcp(agent, NetnsLab.webV6(0), 443), "allowed name, IPv6");
      assertFalse(tcp(agent, NetnsLab.web(0), 80), "allowed host, other port");
      assertFalse(tcp(agent, NetnsLab.webV6(0), 80), "allowed host, other port, IPv6");
      assertFalse(tcp(agent, NetnsLab.web(1), 443), "other host");
      assertFalse(tcp(agent, NetnsLab.webV6(1), 443), "other host, IPv6");
      assertEquals(accepted443 + 2, lab.uplink.accepted(443), "server-side count of port 443");
      assertEquals(accepted80, lab.uplink.accepted(80), "nothing arrived on port 80");

      assertTrue(
          probes().udp(agent.id(), NetnsLab.web(1), 3478), "allowed UDP (the probe itself works)");
      assertFalse(
          probes().udp(agent.id(), NetnsLab.web(0), NetnsLab.UDP_PORT),
          "UDP to the allowed TCP host");
      assertFalse(probes().ping(agent.id(), NetnsLab.web(0)), "ICMP to the allowed host");

      assertTrue(
          probes().lookup(agent.id(), API, NetnsLab.dnsServer(), NetnsLab.web(0)),
          "the policy's resolver");
      assertFalse(
          probes().lookup(agent.id(), API, NetnsLab.otherDnsServer(), NetnsLab.web(0)),
          "another one");
      assertTrue(
          probes().lookup(agent.id(), API, null, NetnsLab.web(0)),
          "Docker's embedded DNS, forwarding to --dns");

      assertTrue(tcp(agent, GATEWAY, 3001), "host service the policy names");
      assertFalse(tcp(agent, GATEWAY, 2222), "other host service");
      assertEquals(1, proxy.accepted());
      assertEquals(0, ssh.accepted());
    }
  }

  @Test
  void ipv6_theFirstContainerOnANewBridge_connectsAtOnce_theGatewayAddressIsNotTentative()
      throws Exception {
    lab.writePolicy("agent", "allow " + API + " port 443\ndns 10.99.0.53\n");
    startLauncher(); // the network, and so its bridge, is created here: no container yet
    ManagedContainer agent = launcher.launch("agent", spec -> spec.command(idle()));
    // The gateway address, the one containers route through; the link-local ones the kernel adds
    // still do detection, and containers do not use them.
    String tentative =
        DockerLab.run(
                "ip",
                "-6",
                "address",
                "show",
                "dev",
                DockerLab.BRIDGE,
                "scope",
                "global",
                "tentative")
            .stdout();
    // With detection, Docker's gateway address stays tentative for a second or two after the
    // first container's link comes up (seen here before the fix), and this connection went
    // nowhere.
    assertEquals("", tentative.strip(), "the bridge's gateway address right after launch");
    assertTrue(tcp(agent, NetnsLab.webV6(0), 443), "first IPv6 connection, right after launch");
  }

  @Test
  void noStartupWindow_anEntrypointThatConnectsAtOnceNeverGetsThrough() throws Exception {
    lab.writePolicy("loop", "allow 10.99.0.10 port 443\ndns none\n");
    startLauncher();
    int accepted80 = lab.uplink.accepted(80);
    // From its first instruction, the container tries a denied destination as fast as it can and
    // logs every attempt.
    String script =
        "trap 'exit 0' TERM; while true; do if nc -w 1 10.99.0.10 80 </dev/null;"
            + " then echo CONNECTED; else echo REFUSED; fi; done";
    int attempts = 0;
    for (int start = 0; start < 20; start++) {
      ManagedContainer container =
          launcher.launch("loop", spec -> spec.command(List.of("sh", "-c", script)));
      List<String> log = waitForLog(container.id(), 3);
      container.stop();
      assertFalse(log.contains("CONNECTED"), "start " + start + ": " + log);
      attempts += log.size();
    }
    assertEquals(accepted80, lab.uplink.accepted(80), "the server saw no connection");
    assertTrue(attempts >= 60, "attempts logged: " + attempts);
  }

  @Test
  void stopThenReuse_theAddressGetsOnlyTheNewPolicy() throws Exception {
    lab.writePolicy("first", "allow 10.99.0.10 port 443\ndns none\n");
    lab.writePolicy("second", "allow 10.99.0.11 port 443\ndns none\n");
    startLauncher();
    ManagedContainer first = launcher.launch("first", spec -> spec.command(idle()));
    InetAddress address = first.endpoint().addresses().get(0);
    assertTrue(tcp(first, NetnsLab.web(0), 443));
    assertTrue(DockerLab.table().contains(dispatch(address)), DockerLab.table());

    first.stop();
    assertFalse(
        DockerLab.table().contains(dispatch(address)),
        "no dispatch to the stopped container's rules:\n" + DockerLab.table());
    assertFalse(DockerLab.run("docker", "inspect", first.id()).succeeded(), "removed");

    ManagedContainer second = launcher.launch("second", spec -> spec.command(idle()));
    assertEquals(address, second.endpoint().addresses().get(0), "the freed address is reused");
    assertTrue(tcp(second, NetnsLab.web(1), 443), "its own policy");
    assertFalse(tcp(second, NetnsLab.web(0), 443), "nothing of the first container's policy");
  }

  @Test
  void interContainer_theSendersPolicyGoverns_andRepliesTheResponders() throws Exception {
    // br_netfilter (loaded by Docker) hands bridged traffic to the forward hook.
    lab.writePolicy("closed", "allow 10.99.0.10 port 443\ndns none\n");
    lab.writePolicy("peer", "allow 10.213.0.0/24 port 8080\ndns none\n");
    lab.writePolicy("server", "allow 10.213.0.0/24 port 1024-65535\ndns none\n");
    startLauncher();
    List<String> serve = List.of("sh", "-c", "trap 'exit 0' TERM; nc -ll -p 8080 -e cat & wait");
    InetAddress server =
        launcher.launch("server", spec -> spec.command(serve)).endpoint().addresses().get(0);
    InetAddress mute =
        launcher.launch("closed", spec -> spec.command(serve)).endpoint().addresses().get(0);
    ManagedContainer closed = launcher.launch("closed", spec -> spec.command(idle()));
    ManagedContainer peer = launcher.launch("peer", spec -> spec.command(idle()));

    assertFalse(tcp(closed, server, 8080), "a policy without the peer refuses it");
    assertTrue(tcp(peer, server, 8080), "a policy naming the peer reaches it");
    assertFalse(tcp(peer, mute, 8080), "the server's replies need its own policy to allow them");
  }

  @Test
  void theHostReachesAContainersService_itsRepliesPass_thoughItsPolicyNamesNoPeer()
      throws Exception {
    lab.writePolicy("closed", "allow 10.99.0.10 port 443\ndns none\n");
    startLauncher();
    List<String> serve = List.of("sh", "-c", "trap 'exit 0' TERM; nc -ll -p 8080 -e cat & wait");
    ManagedContainer server = launcher.launch("closed", spec -> spec.command(serve));

    assertEquals("ping", hostEcho(server.endpoint().addresses().get(0), 8080));
    assertFalse(tcp(server, NetnsLab.web(0), 80), "the container still opens only its own");
  }

  /**
   * Sends {@code ping} from the host to an echo server at {@code address:port} and returns what
   * came back, retrying for up to 10 s while the server starts.
   */
  private static String hostEcho(InetAddress address, int port) throws Exception {
    Exception last = null;
    for (int attempt = 0; attempt < 10; attempt++) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(address, port), 1000);
        socket.setSoTimeout(2000);
        socket.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
        return new BufferedReader(
                new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))
            .readLine();
      } catch (IOException e) {
        last = e;
        Thread.sleep(1000);
      }
    }
    throw new AssertionError("no echo from " + address + ":" + port, last);
  }

  @Test
  void launcherKilled_containersStayEnforced_andTheNextLauncherReconciles() throws Exception {
    lab.writePolicy("crash", "allow 10.99.0.10 port 443\ndns none\n");
    Process child =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElseThrow(),
                "-cp",
                System.getProperty("java.class.path"),
                DockerLauncherMain.class.getName(),
                lab.policies.toString(),
                "crash",
                "2")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    List<String> ids = new ArrayList<>();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = out.readLine(); line != null && !line.equals("ready"); ) {
        ids.add(line);
        line = out.readLine();
      }
    } finally {
      child.destroyForcibly(); // SIGKILL: no clean-up of any kind runs
      child.waitFor();
    }
    assertEquals(2, ids.size(), "the child launched two containers: " + ids);
    String kept = ids.get(0);
    String gone = ids.get(1);
    InetAddress keptAddress = addressOf(kept);
    InetAddress goneAddress = addressOf(gone);

    for (String id : ids) {
      assertTrue(execTcp(id, NetnsLab.web(0), 443), id + " still reaches what its policy allows");
      assertFalse(execTcp(id, NetnsLab.web(0), 80), id + " is still enforced");
    }
    DockerLab.run("docker", "rm", "--force", gone); // exits while no launcher runs

    // What the next launcher's enforcer does at start-up, with the containers still running.
    enforcer = lab.enforcer();
    enforcer.reconcile(Set.of(ContainerId.of(kept)));
    String table = DockerLab.table();
    assertTrue(table.contains(dispatch(keptAddress)), "kept for the running one:\n" + table);
    assertFalse(table.contains(dispatch(goneAddress)), "removed for the gone one:\n" + table);
    assertFalse(execTcp(kept, NetnsLab.web(0), 80), "still enforced after reconcile");
    assertTrue(execTcp(kept, NetnsLab.web(0), 443));

    // The launcher then stops the orphan it cannot hand work to, and its rules go with it.
    launcher = lab.launcher(enforcer, events::add);
    assertTrue(events.contains(new LauncherEvent.OrphanStopped(kept)), events.toString());
    assertFalse(DockerLab.table().contains(dispatch(keptAddress)), DockerLab.table());
  }

  @Test
  void dockerdRestarted_ourRulesStayFirst_andExitedContainersAreDetached() throws Exception {
    lab.writePolicy("agent", "allow 10.99.0.10 port 443\ndns none\n");
    startLauncher();
    ManagedContainer before = launcher.launch("agent", spec -> spec.command(idle()));
    assertFalse(tcp(before, NetnsLab.web(0), 80));
    String tableBefore = DockerLab.table();

    restartDockerd();

    // Docker rebuilt its own chains; our table is untouched, still ahead of them.
    assertEquals(tableBefore, DockerLab.table(), "dockerd's restart left our table as it was");
    assertTrue(tableBefore.contains("hook forward priority filter - 10"), tableBefore);
    assertTrue(enforcer.checkHealth().isEmpty(), "no drift: " + enforcer.checkHealth());
    // Without live-restore the daemon's stop ended the container: the launcher notices and
    // detaches it, so that its address can be reused.
    launcher.sweepExited();
    assertTrue(events.contains(new LauncherEvent.Exited(before.id(), "agent")), events.toString());
    assertFalse(DockerLab.table().contains(dispatch(before.endpoint().addresses().get(0))));

    ManagedContainer after = launcher.launch("agent", spec -> spec.command(idle()));
    assertTrue(tcp(after, NetnsLab.web(0), 443), "allowed after the restart");
    assertFalse(tcp(after, NetnsLab.web(0), 80), "enforced after the restart");
    assertFalse(tcp(after, NetnsLab.web(1), 443), "enforced after the restart");
  }

  /** Stops the Docker daemon (SIGTERM, as an init system would) and starts it again. */
  private static void restartDockerd() throws Exception {
    ProcessResult pid = DockerLab.run("pidof", "dockerd");
    assertTrue(pid.succeeded(), "dockerd runs");
    for (String each : pid.stdout().strip().split("\\s+")) {
      ProcessHandle handle = ProcessHandle.of(Long.parseLong(each)).orElseThrow();
      handle.destroy();
      handle.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
    }
    assertFalse(DockerLab.run("docker", "info").succeeded(), "dockerd stopped");
    ProcessResult started = DockerLab.run("../scripts/start-docker");
    assertTrue(started.succeeded(), started.summary());
  }

  private static InetAddress addressOf(String id) throws Exception {
    return DockerLab.docker().inspect(id).orElseThrow().addresses().get(0);
  }

  private static boolean execTcp(String id, InetAddress target, int port) throws Exception {
    return DockerLab.run(
            "docker",
            "exec",
            id,
            "nc",
            "-w",
            "2",
            IpAddresses.format(target),
            Integer.toString(port))
        .succeeded();
  }

  /** How the enforcer's table lists the dispatch of {@code address} to a container's chain. */
  private static String dispatch(InetAddress address) {
    return IpAddresses.format(address) + " : jump ";
  }

  private static List<String> idle() {
    return DockerLauncherMain.idle();
  }

  private boolean tcp(ManagedContainer container, InetAddress target, int port) throws Exception {
    return probes().tcp(container.id(), target, port);
  }

  private BusyboxProbes probes() {
    return new BusyboxProbes(DockerLab.docker(), lab.uplink);
  }

  /** The container's log lines once it has logged {@code lines} of them (at most 20 s). */
  private static List<String> waitForLog(String id, int lines) throws Exception {
    List<String> log = List.of();
    for (int i = 0; i < 200 && log.size() < lines; i++) {
      Thread.sleep(100);
      ProcessResult result = DockerLab.run("docker", "logs", id);
      log = result.stdout().lines().filter(l -> !l.isBlank()).toList();
    }
    return log;
  }
}
