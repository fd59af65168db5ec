package dev.egress.testkit.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.testkit.pf.FakePfctl;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfPacket.IpProtocol;
import dev.egress.testkit.pf.PfVerdict;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A fake of Apple's {@code container} CLI for tests: run/inspect/ls/stop/exec/network with state in
 * a directory ({@code state.json}), so it behaves the same run in-process ({@link
 * FakeContainerRunner}) or as an executable on the PATH ({@link FakeContainerMain}, launched by the
 * script {@link #install} writes). A {@link Script} scripts address delays, failures, the JSON
 * format printed and which destinations a probe reaches. Every call is logged.
 *
 * <p>Why one class of this size: every subcommand (run, inspect, ls, stop, exec, network) reads and
 * writes the same state file under the same script; each is a short method, and split apart they
 * would share all of it through package-private state.
 */
public final class FakeContainer {
  /** Serialises in-process callers; the file lock serialises processes. */
  private static final ReentrantLock IN_PROCESS = new ReentrantLock();

  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final IpNetwork DEFAULT_SUBNET = IpNetwork.parse("192.168.64.0/24");

  /** Inspect/ls JSON shapes of the CLI's releases. */
  public enum Format {
    V1,
    V0_8,
    V0_7
  }

  /** What the fake does; tests change it between calls with {@link #script}. */
  public static final class Script {
    public Format format = Format.V1;

    /** How many inspects of a new container show no address yet. */
    public int inspectsWithoutAddress = 0;

    public boolean neverGetsAddress = false;
    public boolean runFails = false;

    /** The container stops (and, with --rm, vanishes) right after run. */
    public boolean exitsAtOnce = false;

    public boolean stopFails = false;

    /** stop fails with a "not found" message although the container keeps running. */
    public boolean stopSaysNotFound = false;

    public boolean lsFails = false;

    /** Containers get this address instead of the next free one of their network. */
    public String forcedAddress = "";

    /** "ADDRESS:PORT" destinations a probe ({@code nc -z ...}) connects to. */
    public Set<String> reachable = new LinkedHashSet<>();

    /**
     * The state file of {@link FakePfctl}'s executable. When set, what a probe reaches is what that
     * pf decides for its first packet arriving on {@link #bridge} ({@link FakePfctl#verdict} over
     * {@link #pfParent}), and a held connection is one of its tracked states, cut when a kill
     * removes it and the rules no longer pass it; {@link #reachable} is then ignored.
     */
    public String pfState = "";

    public String pfParent = "com.apple/000.egress";
    public String bridge = "bridge100";

    /**
     * "ADDRESS:PORT" destinations whose far end does not answer (down, or filtered elsewhere): a
     * probe there fails whatever pf decides.
     */
    public Set<String> unreachable = new LinkedHashSet<>();

    /** Programs the image lacks: running one fails with status 127, as a shell reports it. */
    public Set<String> missingTools = new LinkedHashSet<>();

    /**
     * An exec whose command line contains this text hangs for {@link #hangSeconds}; empty: none.
     */
    public String execHangsOn = "";

    public int hangSeconds = 30;
  }

  /** One container of the fake. */
  public static final class Box {
    public String id = "";
    public String state = "running";
    public Map<String, String> labels = new TreeMap<>();
    public String network = "default";
    public String ipv4 = "";
    public String gateway = "";
    public int prefix = 24;
    public int inspectsUntilAddress;
    public boolean neverGetsAddress;
    public boolean remove;
    public List<String> work = new ArrayList<>();

    /**
     * The connection {@link #HELD_FILE}'s script holds: empty before one was opened, {@code "open
     * ADDRESS PORT"} while it may be alive, {@code "closed"} once it ended.
     */
    public String held = "";
  }

  /**
   * Where the held-connection script (a {@code sh -c} command line naming this file and running
   * {@code nc ADDRESS PORT}) writes what the connection received, then {@code closed} when it ends;
   * {@code cat} of it reads that back.
   */
  public static final String HELD_FILE = "/tmp/egress-verify-held";

  /** What the listener at the far end of a held connection sends first; the fake echoes it. */
  public static final String HELD_GREETING = "egress-verify";

  /** The whole state file. */
  public static final class State {
    public Script script = new Script();
    public Map<String, Box> containers = new LinkedHashMap<>();
    public Map<String, String> networks = new TreeMap<>();
    public Map<String, String> networks6 = new TreeMap<>();
    public List<String> calls = new ArrayList<>();
  }

  private FakeContainer() {}

  /**
   * Writes {@code bin/container}, a shell script that runs {@link FakeContainerMain} on this test
   * class path with {@code stateDir}. Returns the bin directory to put on a search path.
   */
  public static Path install(Path root, Path stateDir) throws IOException {
    Path bin = Files.createDirectories(root.resolve("bin"));
    Path script = bin.resolve("container");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Files.writeString(
        script,
        "#!/bin/sh\nexec '"
            + java
            + "' -Xshare:auto -XX:-UsePerfData -XX:TieredStopAtLevel=1"
            + " -cp '"
            + System.getProperty("java.class.path")
            + "' "
            + FakeContainerMain.class.getName()
            + " '"
            + stateDir
            + "' \"$@\"\n");
    script.toFile().setExecutable(true);
    return bin;
  }

  /** Reads the state (for assertions). */
  public static State read(Path stateDir) {
    return locked(stateDir, state -> state, false);
  }

  /** Changes the script or state under the lock. */
  public static void change(Path stateDir, java.util.function.Consumer<State> change) {
    locked(
        stateDir,
        state -> {
          change.accept(state);
          return state;
        },
        true);
  }

  /**
   * Decides whether a probe's TCP connect from a container gets through, for in-process runs that
   * wire the fake to an enforcer's packet decision instead of {@link Script#reachable}.
   */
  @FunctionalInterface
  public interface ProbeNetwork {
    boolean connects(InetAddress source, InetAddress destination, int port);
  }

  /** Runs one CLI invocation; returns the exit status. */
  public static int run(Path stateDir, List<String> args, StringBuilder out, StringBuilder err) {
    return run(stateDir, args, out, err, null);
  }

  /**
   * As {@link #run(Path, List, StringBuilder, StringBuilder)}, probes decided by {@code network}.
   */
  public static int run(
      Path stateDir,
      List<String> args,
      StringBuilder out,
      StringBuilder err,
      @org.jspecify.annotations.Nullable ProbeNetwork network) {
    int[] hangSeconds = {0};
    int status =
        locked(
            stateDir,
            state -> {
              state.calls.add(String.join(" ", args));
              try {
                Invocation invocation = new Invocation(stateDir, state, out, err, network);
                int exit = invocation.dispatch(args);
                hangSeconds[0] = invocation.hangSeconds;
                return exit;
              } catch (RuntimeException | IOException e) {
                StringWriter trace = new StringWriter();
                e.printStackTrace(new PrintWriter(trace));
                err.append("fake container crashed: ").append(trace);
                return 99;
              }
            },
            true);
    if (hangSeconds[0] > 0) {
      try {
        // Outside the lock, so that other calls (a stop) go on while this one hangs.
        Thread.sleep(hangSeconds[0] * 1000L);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 130;
      }
    }
    return status;
  }

  /** A function of the state that may fail with an I/O error. */
  @FunctionalInterface
  private interface StateAction<T> {
    T apply(State state) throws IOException;
  }

  private static <T> T locked(Path stateDir, StateAction<T> action, boolean write) {
    IN_PROCESS.lock();
    try (FileChannel channel =
            FileChannel.open(
                stateDir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock ignored = channel.lock()) {
      Path file = stateDir.resolve("state.json");
      State state = Files.exists(file) ? MAPPER.readValue(file.toFile(), State.class) : new State();
      T result = action.apply(state);
      if (write) {
        Path temp = stateDir.resolve("state.json.tmp");
        MAPPER.writeValue(temp.toFile(), state);
        Files.move(
            temp,
            file,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      IN_PROCESS.unlock();
    }
  }

  private static final class Invocation {
    /** An {@code nc} call in a script, up to where its arguments end. */
    private static final Pattern NC_CALL = Pattern.compile("\\bnc ([^;|>)]*)");

    private static final Pattern FORGED = Pattern.compile("ip addr add ([0-9a-fA-F.:]+)/");

    private final Path stateDir;
    private final State state;
    private final StringBuilder out;
    private final StringBuilder err;
    private final @org.jspecify.annotations.Nullable ProbeNetwork network;

    /** How long the call hangs once the state is saved; 0: not at all. */
    int hangSeconds;

    Invocation(
        Path stateDir,
        State state,
        StringBuilder out,
        StringBuilder err,
        @org.jspecify.annotations.Nullable ProbeNetwork network) {
      this.stateDir = stateDir;
      this.state = state;
      this.out = out;
      this.err = err;
      this.network = network;
    }

    int dispatch(List<String> args) throws IOException {
      if (args.isEmpty()) {
        return fail(64, "Usage: container <subcommand>");
      }
      List<String> rest = args.subList(1, args.size());
      switch (args.get(0)) {
        case "run":
          return run(rest);
        case "inspect":
          return inspect(rest);
        case "ls":
        case "list":
          return list(rest);
        case "stop":
          return stop(rest);
        case "exec":
          return exec(rest);
        case "network":
          return network(rest);
        default:
          return fail(64, "Error: unknown subcommand " + args.get(0));
      }
    }

    private int run(List<String> args) {
      Box box = new Box();
      boolean detach = false;
      int i = 0;
      for (; i < args.size() && args.get(i).startsWith("-"); i++) {
        String option = args.get(i);
        switch (option) {
          case "--detach", "-d" -> detach = true;
          case "--rm", "--remove" -> box.remove = true;
          case "--name" -> box.id = args.get(++i);
          case "--label", "-l" -> {
            String[] pair = args.get(++i).split("=", 2);
            box.labels.put(pair[0], pair.length > 1 ? pair[1] : "");
          }
          case "--network" -> box.network = args.get(++i);
          case "--mount", "--env", "-e", "--dns", "-v", "--volume" -> i++;
          default -> {
            return fail(64, "Error: unknown option " + option);
          }
        }
      }
      if (i >= args.size()) {
        return fail(64, "Error: missing image");
      }
      if (!detach) {
        return fail(64, "fake container only runs detached");
      }
      Script script = state.script;
      if (script.runFails) {
        return fail(1, "Error: internalError: \"failed to bootstrap container\"");
      }
      if (box.id.isEmpty()) {
        box.id = "c" + (state.containers.size() + 1);
      }
      if (state.containers.containsKey(box.id)) {
        return fail(1, "Error: exists: \"container with id " + box.id + " already exists\"");
      }
      IpNetwork subnet = DEFAULT_SUBNET;
      if (!box.network.equals("default")) {
        String cidr = state.networks.get(box.network);
        if (cidr == null) {
          return fail(1, "Error: notFound: \"network " + box.network + " not found\"");
        }
        subnet = IpNetwork.parse(cidr);
      }
      box.prefix = subnet.prefixLength();
      box.gateway = IpAddresses.format(offset(subnet.address(), 1));
      box.ipv4 = script.forcedAddress.isEmpty() ? freeAddress(subnet) : script.forcedAddress;
      box.inspectsUntilAddress = script.inspectsWithoutAddress;
      box.neverGetsAddress = script.neverGetsAddress;
      if (script.exitsAtOnce) {
        if (!box.remove) {
          box.state = "stopped";
          state.containers.put(box.id, box);
        }
      } else {
        state.containers.put(box.id, box);
      }
      out.append(box.id).append('\n');
      return 0;
    }

    private String freeAddress(IpNetwork subnet) {
      Set<String> used = new LinkedHashSet<>();
      state.containers.values().forEach(b -> used.add(b.ipv4));
      for (int host = 2; ; host++) {
        String candidate = IpAddresses.format(offset(subnet.address(), host));
        if (!used.contains(candidate)) {
          return candidate;
        }
      }
    }

    private int inspect(List<String> ids) {
      ArrayNode array = MAPPER.createArrayNode();
      for (String id : ids) {
        Box box = state.containers.get(id);
        if (box == null) {
          return fail(1, "Error: notFound: \"container " + id + " not found\"");
        }
        boolean hasAddress = false;
        if (box.state.equals("running") && !box.neverGetsAddress) {
          if (box.inspectsUntilAddress > 0) {
            box.inspectsUntilAddress--;
          } else {
            hasAddress = true;
          }
        }
        array.add(snapshot(box, hasAddress));
      }
      out.append(array.toPrettyString());
      return 0;
    }

    private int list(List<String> args) {
      if (!args.equals(List.of("--format", "json"))) {
        return fail(64, "fake container ls only supports --format json, got " + args);
      }
      if (state.script.lsFails) {
        return fail(1, "Error: interrupted: \"XPC connection error\"");
      }
      ArrayNode array = MAPPER.createArrayNode();
      for (Box box : state.containers.values()) {
        if (box.state.equals("running")) {
          array.add(snapshot(box, box.inspectsUntilAddress == 0 && !box.neverGetsAddress));
        }
      }
      out.append(array.toString());
      return 0;
    }

    private int stop(List<String> ids) {
      for (String id : ids) {
        Box box = state.containers.get(id);
        if (box == null) {
          return fail(1, "Error: notFound: \"container " + id + " not found\"");
        }
        if (state.script.stopSaysNotFound) {
          return fail(1, "Error: notFound: \"kernel image not found\"");
        }
        if (state.script.stopFails) {
          return fail(1, "Error: internalError: \"failed to stop container " + id + "\"");
        }
        stopBox(state, box);
        out.append(id).append('\n');
      }
      return 0;
    }

    private int exec(List<String> args) throws IOException {
      if (args.size() < 2) {
        return fail(64, "Usage: container exec <id> <command>");
      }
      Box box = state.containers.get(args.get(0));
      if (box == null || !box.state.equals("running")) {
        return fail(1, "Error: notFound: \"container " + args.get(0) + " not found\"");
      }
      List<String> command = args.subList(1, args.size());
      String line = String.join(" ", command);
      for (String tool : state.script.missingTools) {
        if (command.get(0).equals(tool) || line.matches("sh -c .*\\b" + tool + " .*")) {
          return fail(127, "sh: " + tool + ": not found");
        }
      }
      if (!state.script.execHangsOn.isEmpty() && line.contains(state.script.execHangsOn)) {
        hangSeconds = state.script.hangSeconds;
        return 0;
      }
      if (command.get(0).equals("nc")
          || command.get(0).equals("node")
              && command.size() == 5
              && command.get(1).equals("-e")
              && command.get(2).contains("require('net').connect")) {
        InetAddress target = IpAddresses.parse(command.get(command.size() - 2));
        int port = Integer.parseInt(command.get(command.size() - 1));
        return reaches(IpProtocol.TCP, source(box, target), target, port) ? 0 : 1;
      }
      if (command.size() == 3 && command.get(0).equals("nslookup")) {
        InetAddress server = IpAddresses.parse(command.get(2));
        if (!reaches(IpProtocol.UDP, source(box, server), server, 53)) {
          return fail(1, ";; connection timed out; no servers could be reached");
        }
        out.append("Server:\t\t")
            .append(command.get(2))
            .append("\n\nName:\t")
            .append(command.get(1))
            .append("\nAddress: 192.0.2.53\n");
        return 0;
      }
      if (command.size() == 3 && command.get(0).equals("sh") && command.get(1).equals("-c")) {
        return script(box, command.get(2));
      }
      if (command.equals(List.of("cat", HELD_FILE))) {
        return readHeld(box);
      }
      box.work.add(line);
      return 0;
    }

    /** The scripts of a forged-source probe and of a held connection. */
    private int script(Box box, String script) throws IOException {
      Matcher call = NC_CALL.matcher(script);
      if (!call.find()) {
        box.work.add("sh -c " + script);
        return 0;
      }
      // nc's last two arguments are the destination and the port.
      String[] words = call.group(1).trim().split("\\s+");
      String host = words[words.length - 2];
      InetAddress destination = IpAddresses.parse(host);
      int port = Integer.parseInt(words[words.length - 1]);
      Matcher forged = FORGED.matcher(script);
      if (forged.find()) {
        return reaches(IpProtocol.TCP, IpAddresses.parse(forged.group(1)), destination, port)
            ? 0
            : 1;
      }
      if (!script.contains(HELD_FILE)) {
        box.work.add("sh -c " + script);
        return 0;
      }
      InetAddress source = source(box, destination);
      if (reaches(IpProtocol.TCP, source, destination, port)) {
        box.held = "open " + host + " " + port;
        if (!state.script.pfState.isEmpty()) {
          FakePfctl.withStateFile(pfState(), pf -> pf.openConnection(source, destination));
        }
      } else {
        box.held = "closed";
      }
      return 0;
    }

    /**
     * The held connection lives while pf still tracks its state, or while its rules would pass it
     * anew (pf without rules for it passes a packet without state); once cut it stays cut.
     */
    private int readHeld(Box box) throws IOException {
      if (box.held.isEmpty()) {
        return fail(1, "cat: can't open '" + HELD_FILE + "': No such file or directory");
      }
      if (box.held.startsWith("open ")) {
        String[] parts = box.held.split(" ");
        InetAddress destination = IpAddresses.parse(parts[1]);
        InetAddress source = source(box, destination);
        boolean tracked =
            state.script.pfState.isEmpty()
                || FakePfctl.withStateFile(
                    pfState(),
                    pf ->
                        pf.connections().stream()
                            .anyMatch(
                                c ->
                                    c.source().equals(source)
                                        && c.destination().equals(destination)));
        if (!tracked && !reaches(IpProtocol.TCP, source, destination, Integer.parseInt(parts[2]))) {
          box.held = "closed";
        }
      }
      out.append(HELD_GREETING).append('\n');
      if (box.held.equals("closed")) {
        out.append("closed\n");
      }
      return 0;
    }

    /** Whether the first packet of a flow gets through. */
    private boolean reaches(
        IpProtocol protocol, InetAddress source, InetAddress destination, int port)
        throws IOException {
      if (state.script.unreachable.contains(IpAddresses.format(destination) + ":" + port)) {
        return false;
      }
      if (!state.script.pfState.isEmpty()) {
        PfPacket packet = PfPacket.in(state.script.bridge, protocol, source, destination, port);
        return FakePfctl.withStateFile(
            pfState(), pf -> pf.verdict(state.script.pfParent, packet) == PfVerdict.PASS);
      }
      if (network != null && protocol == IpProtocol.TCP) {
        return network.connects(source, destination, port);
      }
      return state.script.reachable.contains(IpAddresses.format(destination) + ":" + port);
    }

    private Path pfState() {
      return stateDir.resolve(state.script.pfState);
    }

    /** The container's address of {@code destination}'s family. */
    private InetAddress source(Box box, InetAddress destination) {
      return IpAddresses.isIpv6(destination) ? ipv6(box).address() : IpAddresses.parse(box.ipv4);
    }

    private int network(List<String> args) {
      if (args.size() >= 2 && args.get(0).equals("inspect")) {
        String cidr = state.networks.get(args.get(1));
        if (cidr == null) {
          return fail(1, "Error: notFound: \"network " + args.get(1) + " not found\"");
        }
        out.append("[{\"id\":\"").append(args.get(1)).append("\"}]");
        return 0;
      }
      if ((args.size() == 4 || args.size() == 6 && args.get(4).equals("--subnet-v6"))
          && args.get(0).equals("create")
          && args.get(2).equals("--subnet")) {
        IpNetwork.parse(args.get(3));
        state.networks.put(args.get(1), args.get(3));
        if (args.size() == 6) {
          state.networks6.put(args.get(1), IpNetwork.parse(args.get(5)).toString());
        }
        out.append(args.get(1)).append('\n');
        return 0;
      }
      return fail(
          64,
          "fake container network supports inspect NAME,"
              + " create NAME --subnet CIDR [--subnet-v6 PREFIX]");
    }

    private ObjectNode snapshot(Box box, boolean hasAddress) {
      ObjectNode node = MAPPER.createObjectNode();
      ObjectNode configuration = node.putObject("configuration");
      configuration.put("id", box.id);
      ObjectNode labels = configuration.putObject("labels");
      box.labels.forEach(labels::put);
      ArrayNode networks = MAPPER.createArrayNode();
      if (hasAddress) {
        ObjectNode network = networks.addObject();
        network.put("network", box.network);
        String ipv6 = ipv6(box).toString();
        switch (state.script.format) {
          case V1 -> {
            network.put("ipv4Address", box.ipv4 + "/" + box.prefix);
            network.put("ipv4Gateway", box.gateway);
            network.put("ipv6Address", ipv6);
          }
          case V0_8 -> {
            network.put("ipv4Address", box.ipv4 + "/" + box.prefix);
            network.put("ipv4Gateway", box.gateway);
          }
          case V0_7 -> {
            network.put("address", box.ipv4 + "/" + box.prefix);
            network.put("gateway", box.gateway);
          }
        }
      }
      if (state.script.format == Format.V1) {
        ObjectNode status = node.putObject("status");
        status.put("state", box.state);
        status.set("networks", networks);
      } else {
        node.put("status", box.state);
        node.set("networks", networks);
      }
      return node;
    }

    /** The container's IPv6 address: its IPv4 host number in the network's IPv6 prefix. */
    private PrefixedIpv6 ipv6(Box box) {
      int host = Integer.parseInt(box.ipv4.substring(box.ipv4.lastIndexOf('.') + 1));
      IpNetwork net6 =
          IpNetwork.parse(state.networks6.getOrDefault(box.network, "fd00:6e61:6e6f::/64"));
      byte[] bytes = net6.address().getAddress();
      bytes[15] = (byte) host;
      return new PrefixedIpv6(IpAddresses.fromBytes(bytes), net6.prefixLength());
    }

    private int fail(int code, String message) {
      err.append(message).append('\n');
      return code;
    }
  }

  private record PrefixedIpv6(InetAddress address, int prefixLength) {
    @Override
    public String toString() {
      return IpAddresses.format(address) + "/" + prefixLength;
    }
  }

  /** The container stops as if its process ended: with --rm it vanishes. */
  static void stopBox(State state, Box box) {
    if (box.remove) {
      state.containers.remove(box.id);
    } else {
      box.state = "stopped";
    }
  }

  /** Simulates the container's process exiting by itself. */
  public static void exit(Path stateDir, String id) {
    change(
        stateDir,
        state -> {
          Box box = state.containers.get(id);
          if (box != null) {
            stopBox(state, box);
          }
        });
  }

  private static InetAddress offset(InetAddress network, int host) {
    byte[] bytes = network.getAddress();
    int value =
        ((bytes[0] & 0xff) << 24)
            | ((bytes[1] & 0xff) << 16)
            | ((bytes[2] & 0xff) << 8)
            | (bytes[3] & 0xff);
    value += host;
    return IpAddresses.fromBytes(
        new byte[] {
          (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value
        });
  }
}
