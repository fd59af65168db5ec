package dev.egress.examples.launcher;

import dev.egress.container.ContainerCliException;
import dev.egress.container.ContainerInfo;
import dev.egress.container.ContainerRunSpec;
import dev.egress.container.ContainerRuntime;
import dev.egress.container.NetworkAttachment;
import dev.egress.container.PrefixedAddress;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessResult;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory runtime that creates containers stopped with their address chosen, as Docker does:
 * the fake behind the launcher tests of that path. It records, at each start, whether the enforcer
 * had the container attached, and can be told to fail the start or to start a container with
 * another address.
 */
final class CreateThenStartRuntime implements ContainerRuntime {
  private final EgressEnforcer enforcer;
  private final Map<String, ContainerInfo> containers = new LinkedHashMap<>();
  final List<String> startedAttached = new ArrayList<>();
  final List<String> startedUnattached = new ArrayList<>();
  final List<String> stopped = new ArrayList<>();
  boolean failStart;
  @Nullable String addressAtStart;
  private int next = 2;

  CreateThenStartRuntime(EgressEnforcer enforcer) {
    this.enforcer = enforcer;
  }

  @Override
  public String command() {
    return "fake";
  }

  @Override
  public void ensureNetwork(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet) {}

  @Override
  public synchronized void create(ContainerRunSpec spec) {
    containers.put(spec.name(), info(spec.name(), "created", "10.213.0." + next++));
  }

  @Override
  public boolean startsOnCreate() {
    return false;
  }

  @Override
  public synchronized void start(String id) throws ContainerCliException {
    boolean attached =
        enforcer.attachments().stream().anyMatch(a -> a.container().id().value().equals(id));
    (attached ? startedAttached : startedUnattached).add(id);
    if (failStart) {
      throw new ContainerCliException("'fake start " + id + "' exited 1: no such image");
    }
    ContainerInfo created = containers.get(id);
    String address =
        addressAtStart != null ? addressAtStart : IpAddresses.format(created.addresses().get(0));
    containers.put(id, info(id, "running", address));
  }

  @Override
  public synchronized Optional<ContainerInfo> inspect(String id) {
    return Optional.ofNullable(containers.get(id));
  }

  @Override
  public synchronized List<ContainerInfo> listRunning() {
    return containers.values().stream().filter(ContainerInfo::isRunning).toList();
  }

  @Override
  public synchronized void stop(String id) {
    stopped.add(id);
    containers.remove(id);
  }

  @Override
  public ProcessResult exec(String id, List<String> command) {
    throw new UnsupportedOperationException("no exec in this fake");
  }

  private static ContainerInfo info(String id, String state, String address) {
    InetAddress gateway = IpAddresses.parse("10.213.0.1");
    return new ContainerInfo(
        id,
        state,
        Map.of(),
        List.of(
            new NetworkAttachment(
                "managed", PrefixedAddress.parse(address + "/24"), gateway, null)));
  }
}
