package dev.egress.enforcer;

import java.util.Objects;

/**
 * What an {@link EgressEvent} or a removal concerns, saying which kind of id it carries: a
 * container attached through this enforcer (by its {@link ContainerId}), rules found installed that
 * no attachment of this process owns (by their {@link RuleSetName}: left by an earlier process), or
 * the host as a whole.
 */
public sealed interface Subject permits Subject.Removable, Subject.Host {

  /** A subject with rules of its own, which a removal removes: a container or unowned rules. */
  sealed interface Removable extends Subject permits Container, Unowned {}

  /** A container attached through this enforcer (now, or until its detach). */
  record Container(ContainerId id) implements Removable {
    public Container {
      Objects.requireNonNull(id, "id");
    }

    @Override
    public String toString() {
      return "container " + id;
    }
  }

  /**
   * Rules found installed that belong to no attachment of this process: an earlier process attached
   * them, and only the backend's name for them is known.
   */
  record Unowned(RuleSetName name) implements Removable {
    public Unowned {
      Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
      return "rule set " + name;
    }
  }

  /** The host as a whole: the packet filter, its hook and the guard. */
  record Host() implements Subject {
    @Override
    public String toString() {
      return "host";
    }
  }

  static Container container(ContainerId id) {
    return new Container(id);
  }

  static Unowned unowned(RuleSetName name) {
    return new Unowned(name);
  }

  static Host host() {
    return new Host();
  }
}
