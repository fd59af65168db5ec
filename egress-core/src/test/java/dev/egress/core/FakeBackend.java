package dev.egress.core;

import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A packet filter in memory: installed rule sets are {@link ContainerRules}, and a packet's fate is
 * {@link EgressPolicy#permits} of the rule set holding its source address (nothing without one:
 * the guard). Records every call; can be told to fail.
 */
final class FakeBackend implements FirewallBackend {
  final List<String> calls = new ArrayList<>();
  private final Map<String, ContainerRules> installed = new LinkedHashMap<>();
  private final List<String> hostProblems = new ArrayList<>();
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile boolean failing;

  @Override
  public String ruleSetName(String containerId) {
    return "c-" + containerId;
  }

  @Override
  public void checkSupported(EgressPolicy policy) throws UnsupportedPolicyException {
    if (policy.requiresDnsFiltering()) {
      throw new UnsupportedPolicyException("wildcard names need DNS filtering", "name the hosts");
    }
  }

  @Override
  public synchronized void prepare() throws EgressException {
    call("prepare");
    hostProblems.clear();
  }

  @Override
  public synchronized void install(ContainerRules rules) throws EgressException {
    call("install " + rules.name());
    installed.put(rules.name(), rules);
  }

  @Override
  public synchronized void refreshAddresses(ContainerRules rules, Set<HostName> changedNames)
      throws EgressException {
    call("refresh " + rules.name() + " " + changedNames);
    installed.put(rules.name(), rules);
  }

  @Override
  public synchronized void remove(String name, List<InetAddress> addresses) throws EgressException {
    call("remove " + name);
    installed.remove(name);
  }

  @Override
  public synchronized Map<String, List<InetAddress>> installed() throws EgressException {
    call("installed");
    Map<String, List<InetAddress>> result = new LinkedHashMap<>();
    installed.forEach((name, rules) -> result.put(name, rules.container().addresses()));
    return result;
  }

  @Override
  public synchronized boolean isIntact(ContainerRules rules) throws EgressException {
    call("isIntact " + rules.name());
    return rules.equals(installed.get(rules.name()));
  }

  @Override
  public synchronized List<String> hostProblems() throws EgressException {
    call("hostProblems");
    return List.copyOf(hostProblems);
  }

  @Override
  public void close() {}

  /** What the filter does to {@code flow} from {@code source} now. */
  synchronized boolean allows(InetAddress source, Flow flow) {
    for (ContainerRules rules : installed.values()) {
      if (rules.container().addresses().contains(source)) {
        return rules.policy().permits(flow, rules.container().gateway(), rules.resolutions());
      }
    }
    return false;
  }

  synchronized boolean isInstalled(String name) {
    return installed.containsKey(name);
  }

  /** Someone else changed the kernel: the rule set vanishes. */
  synchronized void wipe(String name) {
    installed.remove(name);
  }

  /** Leaves rules that the enforcer did not install, as a crashed process would. */
  synchronized void plant(ContainerRules rules) {
    installed.put(rules.name(), rules);
  }

  synchronized void reportHostProblem(String problem) {
    hostProblems.add(problem);
  }

  void failAlways(boolean fail) {
    failing = fail;
  }

  void failNext(int count) {
    failuresLeft.set(count);
  }

  synchronized long count(String prefix) {
    return calls.stream().filter(c -> c.startsWith(prefix)).count();
  }

  private void call(String description) throws EgressException {
    calls.add(description);
    if (failing || failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new EgressException("injected failure: " + description);
    }
  }
}
