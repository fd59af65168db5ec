package dev.egress.enforcer;

import dev.egress.policy.EgressPolicy;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Applies egress policies to containers: the launcher calls {@link #attach} when a container has
 * started and has its address, and {@link Attachment#detach} when it stops.
 *
 * <p><b>Guarantee.</b> No method of an enforcer, failing or not, leaves a container with more
 * network than the last policy that was successfully attached to it (a failed update leaves the
 * previous policy in force); a container that was never attached gets whatever the host's guard (if
 * any) gives unattached containers, which should be nothing.
 *
 * <p><b>After {@link #close()}</b> {@code attach}, {@code reconcile}, {@link Attachment#update} and
 * {@link Attachment#detach} throw {@link IllegalStateException}.
 *
 * <p><b>Threads.</b> Implementations are thread-safe. Operations on one container are ordered;
 * operations on different containers may run concurrently.
 *
 * <p><b>Blocking.</b> {@code attach}, {@code update}, {@code detach} and {@code reconcile} block
 * until the kernel state is in place (a privileged process call, and name resolution for policies
 * that name hosts). None of them should be called on an event loop.
 */
public interface EgressEnforcer extends AutoCloseable {

  /**
   * Attaches {@code policy} to the container at {@code containerIp}, whose id is {@link
   * ContainerId#forAddress}{@code (containerIp)}. This is the call a launcher that knows only the
   * address makes; the policy must not use the gateway, since it is unknown here. Such a launcher
   * passes {@code ContainerId.forAddress} of its running containers' addresses to {@link
   * #reconcile}, so that their rules are kept.
   *
   * @see #attach(ContainerEndpoint, EgressPolicy)
   */
  default Attachment attach(InetAddress containerIp, EgressPolicy policy) throws EgressException {
    return attach(ContainerEndpoint.of(containerIp), policy);
  }

  /**
   * Makes {@code policy} the container's egress policy and returns once it is enforced.
   *
   * <p>Host names are resolved before the rules load; a name that does not resolve contributes no
   * address (the rest of the policy still applies) and is retried by the refresher. Literal
   * networks, the gateway and the DNS rule apply at once.
   *
   * <p><b>Idempotent:</b> attaching an id that is already attached with an equal endpoint
   * (addresses and gateway) behaves as {@link Attachment#update} and returns the existing
   * attachment, so a launcher may retry a failed or uncertain attach.
   *
   * @return the live attachment
   * @throws UnsupportedPolicyException if the policy needs something this enforcer cannot do
   *     (wildcard names without DNS filtering); nothing is changed
   * @throws IllegalArgumentException if the policy uses the gateway and the endpoint has none
   * @throws IllegalStateException if the id is attached with another endpoint, or one of the
   *     addresses belongs to another attached container (detach that one first)
   * @throws EgressException if the kernel state could not be installed. Nothing that allows more
   *     than {@code policy} is left behind: either the container's rules are in place exactly, or
   *     none are and the guard (if any) still blocks it. The launcher must then not let the
   *     container work. Also thrown when an address still belongs to a container whose removal
   *     failed and, retried now, fails again.
   */
  Attachment attach(ContainerEndpoint container, EgressPolicy policy) throws EgressException;

  /** The live attachments, in no particular order. Non-blocking snapshot. */
  List<Attachment> attachments();

  /**
   * The address of the DNS filter this enforcer was built with, or empty without one. A container
   * whose policy says {@code dns filter} has its port-53 traffic redirected there whatever it asks;
   * a launcher tells it to use that address ({@code --dns}) so that its resolver configuration and
   * the redirect agree. Fixed for the enforcer's life; non-blocking.
   */
  Optional<InetAddress> dnsFilter();

  /**
   * The traffic counters of the live attachments, read from the kernel now: what each container's
   * rules let through and refused since they were last loaded ({@link TrafficCounters} says what
   * counts and when the counts start again). A live attachment whose rules were not found (removed
   * behind the enforcer's back, not yet repaired) has no entry. Read-only: changes nothing.
   * Thread-safe; blocks on the kernel (one privileged read, or one per attachment where the filter
   * lists rules only per rule set).
   *
   * @throws EgressException if the kernel could not be read
   * @throws IllegalStateException after {@link #close()}
   */
  Map<ContainerId, TrafficCounters> counters() throws EgressException;

  /**
   * Brings kernel state in line with the containers that really run — the step after a launcher or
   * enforcer restart. It first makes the host ready (filter enabled, guard loaded), so a launcher
   * that reconciles before starting containers closes the start-up window. Rules found for ids not
   * in {@code liveContainerIds} are removed with their tracked connections (as a detach would),
   * whether this process attached them or found them installed; live attachments whose rules are
   * missing or altered are reinstalled. Idempotent.
   *
   * @param liveContainerIds ids of containers that are running now
   * @return what was removed and what was repaired
   * @throws EgressException if some step failed; steps that succeeded stay done, and failed
   *     removals are retried in the background (rules left in place only ever restrict)
   */
  ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException;

  /**
   * Stops background work (refreshing, health checks) and releases what the enforcer holds for
   * itself. Attached rules stay in place: a container keeps its restrictions while the launcher is
   * down. Idempotent; does not throw.
   */
  @Override
  void close();
}
