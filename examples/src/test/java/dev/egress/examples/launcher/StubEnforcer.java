package dev.egress.examples.launcher;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.policy.EgressPolicy;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A minimal in-memory enforcer for launcher tests until the testkit's lands: it keeps attachments
 * ("rule sets") in a map, honours the SPI's conflict and idempotence rules, and fails on demand.
 */
final class StubEnforcer implements EgressEnforcer {
  private final Map<String, StubAttachment> rules = new ConcurrentHashMap<>();
  volatile boolean failAttach;
  volatile boolean failUpdate;

  @Override
  public synchronized Attachment attach(ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    StubAttachment existing = rules.get(container.id());
    if (existing != null) {
      if (!existing.container.addresses().equals(container.addresses())) {
        throw new IllegalStateException(container.id() + " is attached with other addresses");
      }
      existing.update(policy);
      return existing;
    }
    for (StubAttachment other : rules.values()) {
      for (InetAddress address : container.addresses()) {
        if (other.container.addresses().contains(address)) {
          throw new IllegalStateException(address + " belongs to attached " + other.container.id());
        }
      }
    }
    if (failAttach) {
      throw new EgressException("scripted attach failure for " + container.id());
    }
    StubAttachment attachment = new StubAttachment(container, policy);
    rules.put(container.id(), attachment);
    return attachment;
  }

  @Override
  public List<Attachment> attachments() {
    return new ArrayList<>(rules.values());
  }

  /** The ids that have rules installed. */
  Set<String> ruleSets() {
    return Set.copyOf(rules.keySet());
  }

  @Override
  public synchronized ReconcileResult reconcile(Set<String> liveContainerIds) {
    Set<String> removed = new HashSet<>();
    for (String id : Set.copyOf(rules.keySet())) {
      if (!liveContainerIds.contains(id)) {
        rules.remove(id).active = false;
        removed.add(id);
      }
    }
    return new ReconcileResult(removed, Set.of());
  }

  @Override
  public void close() {}

  private final class StubAttachment implements Attachment {
    final ContainerEndpoint container;
    volatile EgressPolicy policy;
    volatile boolean active = true;

    StubAttachment(ContainerEndpoint container, EgressPolicy policy) {
      this.container = container;
      this.policy = policy;
    }

    @Override
    public ContainerEndpoint container() {
      return container;
    }

    @Override
    public EgressPolicy policy() {
      return policy;
    }

    @Override
    public boolean isActive() {
      return active;
    }

    @Override
    public void update(EgressPolicy newPolicy) throws EgressException {
      if (!active) {
        throw new IllegalStateException(container.id() + " is detached");
      }
      if (failUpdate) {
        throw new EgressException("scripted update failure for " + container.id());
      }
      policy = newPolicy;
    }

    @Override
    public void detach() {
      synchronized (StubEnforcer.this) {
        active = false;
        rules.remove(container.id(), this);
      }
    }
  }
}
