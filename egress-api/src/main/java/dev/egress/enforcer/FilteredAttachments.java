package dev.egress.enforcer;

import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * The enforcer's side of a DNS filter: which attached container sent a query, and the grant that
 * puts an answer's addresses into that container's sets before the filter releases the answer. An
 * enforcer built with a DNS filter implements it; the filter is its only caller.
 *
 * <p>A grant goes into the set of every host name of the container's policy that {@link
 * dev.egress.policy.HostName#covers covers} the asked name (see {@link
 * dev.egress.policy.EgressPolicy#namesCovering}), and lasts until its expiry (a later grant of the
 * same address extends it, an earlier one never shortens it). Grants go with the attachment: a
 * detach removes them, an update keeps those of names the new policy still has.
 *
 * <p><b>Threads.</b> Thread-safe; called concurrently from the filter's threads. {@link #bySource}
 * and {@link #grantedUntil} do not block on the kernel; {@link #grant} blocks until the kernel
 * holds the addresses (one privileged call at most).
 */
public interface FilteredAttachments {

  /**
   * The attached container that sends from {@code source}, when its policy says {@code dns filter};
   * empty for an address no attachment holds, for an attachment pending removal, and for a policy
   * with another DNS rule. The filter answers REFUSED then, and asks nobody.
   */
  Optional<FilteredAttachment> bySource(InetAddress source);

  /**
   * Until when every one of {@code addresses} is granted to {@code container} for {@code asked}:
   * the earliest expiry over the addresses and the names covering {@code asked}; empty when one of
   * them is not granted (or not any more), when {@code addresses} is empty, or when the container
   * is not attached. Reads what the enforcer installed, so a filter that restarts sees the grants
   * made before.
   */
  Optional<Instant> grantedUntil(ContainerId container, HostName asked, Set<InetAddress> addresses);

  /**
   * Puts {@code addresses} into {@code container}'s sets of the policy names covering {@code
   * asked}, until {@code expiry}, and returns once the kernel holds them. All or nothing.
   *
   * @throws EgressException if the enforcer is closed (nothing would take a grant out again), the
   *     container is not attached any more, its policy (perhaps just updated) does not cover {@code
   *     asked} or is not {@code dns filter}, or the kernel update failed; the sets are then as
   *     before (never wider), and the filter answers SERVFAIL
   */
  void grant(ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
      throws EgressException;
}
