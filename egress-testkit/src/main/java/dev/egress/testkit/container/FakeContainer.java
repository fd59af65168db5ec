package dev.egress.testkit.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
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

/**
 * A fake of Apple's {@code container} CLI for tests: run/inspect/ls/stop/exec/network with state in
 * a directory ({@code state.json}), so it behaves the same run in-process ({@link
 * FakeContainerRunner}) or as an executable on the PATH ({@link FakeContainerMain}, launched by the
 * script {@link #install} writes). A {@link Script} scripts address delays, failures, the JSON
 * format printed and which destinations a probe reaches. Every call is logged.
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
  }

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
    return locked(
        stateDir,
        state -> {
          state.calls.add(String.join(" ", args));
          try {
            return new Invocation(state, out, err, network).dispatch(args);
          } catch (RuntimeException e) {
            StringWriter trace = new StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            err.append("fake container crashed: ").append(trace);
            return 99;
          }
        },
        true);
  }

  private static <T> T locked(
      Path stateDir, java.util.function.Function<State, T> action, boolean write) {
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
    private final State state;
    private final StringBuilder out;
    private final StringBuilder err;
    private final @org.jspecify.annotations.Nullable ProbeNetwork network;

    Invocation(
        State state,
        StringBuilder out,
        StringBuilder err,
        @org.jspecify.annotations.Nullable ProbeNetwork network) {
      this.state = state;
      this.out = out;
      this.err = err;
      this.network = network;
    }

    int dispatch(List<String> args) {
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

    private int exec(List<String> args) {
      if (args.size() < 2) {
        return fail(64, "Usage: container exec <id> <command>");
      }
      Box box = state.containers.get(args.get(0));
      if (box == null || !box.state.equals("running")) {
        return fail(1, "Error: notFound: \"container " + args.get(0) + " not found\"");
      }
      List<String> command = args.subList(1, args.size());
      if (command.get(0).equals("nc")
          || command.get(0).equals("node")
              && command.size() == 5
              && command.get(1).equals("-e")
              && command.get(2).contains("require('net').connect")) {
        String host = command.get(command.size() - 2);
        String port = command.get(command.size() - 1);
        boolean connects =
            network != null
                ? network.connects(
                    IpAddresses.parse(box.ipv4), IpAddresses.parse(host), Integer.parseInt(port))
                : state.script.reachable.contains(host + ":" + port);
        return connects ? 0 : 1;
      }
      box.work.add(String.join(" ", command));
      return 0;
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
        int host = Integer.parseInt(box.ipv4.substring(box.ipv4.lastIndexOf('.') + 1));
        String prefix6 = state.networks6.getOrDefault(box.network, "fd00:6e61:6e6f::/64");
        IpNetwork net6 = IpNetwork.parse(prefix6);
        byte[] bytes = net6.address().getAddress();
        bytes[15] = (byte) host;
        String ipv6 = IpAddresses.format(IpAddresses.fromBytes(bytes)) + "/" + net6.prefixLength();
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

    private int fail(int code, String message) {
      err.append(message).append('\n');
      return code;
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
