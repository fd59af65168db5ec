package dev.egress.cli;

import dev.egress.container.ContainerCliException;
import dev.egress.container.ContainerRuntime;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.EgressException;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What {@code egressctl verify} has set up on the host, to be removed again: the throwaway
 * container, its attachment, the enforcer, the parent anchor it loaded, the listeners. pf stays
 * enabled if the enforcer enabled it: egress-pf never releases its enable reference, so that
 * closing an enforcer never switches pf off. {@link #close} removes each, in an order that never
 * leaves the container running without its rules, and is called from the command's {@code finally}
 * and from its shutdown hook (Ctrl-C): whichever comes first does the work, the other waits for it
 * and does nothing. Thread-safe.
 */
final class VerifySession implements AutoCloseable {
  private final ContainerRuntime runtime;
  private final Pfctl pfctl;
  private final AnchorPath parent;
  private final List<ProbeListener> listeners = new ArrayList<>();
  private @Nullable String container;
  private @Nullable PfEgressEnforcer enforcer;
  private @Nullable Attachment attachment;
  private boolean detached;
  private boolean closed;
  private final List<String> leftBehind = new ArrayList<>();

  /**
   * @param parent the parent anchor, which was not loaded before this session: closing flushes it
   */
  VerifySession(ContainerRuntime runtime, Pfctl pfctl, AnchorPath parent) {
    this.runtime = runtime;
    this.pfctl = pfctl;
    this.parent = parent;
  }

  synchronized void listener(ProbeListener listener) {
    listeners.add(listener);
  }

  /** The container is being started under this name: from now on closing stops it. */
  synchronized void container(String id) {
    container = id;
  }

  synchronized void enforcer(PfEgressEnforcer built) {
    enforcer = built;
  }

  synchronized void attachment(Attachment attached) {
    attachment = attached;
  }

  /**
   * Detaches the container (the probe of a held connection), once.
   *
   * @throws EgressException if the detach failed; closing tries again
   */
  synchronized void detach() throws EgressException {
    if (attachment != null && !detached) {
      attachment.detach();
      detached = true;
    }
  }

  /** Whether {@link #close} ran; the command then stops probing. */
  synchronized boolean isClosed() {
    return closed;
  }

  /**
   * Removes everything, once: stops the container first (so that it never runs without its rules),
   * then detaches it (the parent's guard then blocks its address), closes the enforcer, flushes the
   * parent anchor unless the container could not be stopped (it would run unfiltered) and stops the
   * listeners. Every other step runs even if an earlier one failed.
   *
   * @return what could not be removed, each with the command that removes it by hand; empty when
   *     everything is gone
   */
  synchronized List<String> removeAll() {
    if (closed) {
      return List.copyOf(leftBehind);
    }
    closed = true;
    boolean stillRuns = false;
    if (container != null) {
      try {
        runtime.stop(container);
      } catch (ContainerCliException e) {
        stillRuns = true;
        leftBehind.add(
            "container "
                + container
                + ": "
                + e.getMessage()
                + "; run 'container stop "
                + container
                + "'");
      } catch (InterruptedException e) {
        stillRuns = true;
        Thread.currentThread().interrupt();
        leftBehind.add(
            "container " + container + ": interrupted; run 'container stop " + container + "'");
      }
    }
    if (attachment != null && !detached) {
      try {
        attachment.detach();
        detached = true;
      } catch (EgressException e) {
        leftBehind.add("its rule set: " + e.getMessage());
      }
    }
    if (enforcer != null) {
      enforcer.close();
    }
    if (stillRuns && (enforcer != null || attachment != null)) {
      leftBehind.add(
          "parent anchor "
              + parent
              + ": kept, so that its guard blocks container "
              + container
              + ", which may still run; once it is stopped run 'sudo pfctl -a "
              + parent
              + " -F all'");
    } else if (enforcer != null || attachment != null) {
      try {
        pfctl.flushAnchor(parent);
      } catch (PfctlException e) {
        leftBehind.add(
            "parent anchor "
                + parent
                + ": "
                + e.getMessage()
                + "; run 'sudo pfctl -a "
                + parent
                + " -F all'");
      }
    }
    listeners.forEach(ProbeListener::close);
    return List.copyOf(leftBehind);
  }

  @Override
  public void close() {
    removeAll();
  }
}
