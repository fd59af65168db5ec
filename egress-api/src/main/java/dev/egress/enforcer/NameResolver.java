package dev.egress.enforcer;

import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Resolves the host names of policies to addresses and tells enforcers when those addresses change.
 * Enforcers take one as a collaborator; egress-dns has the dnsjava implementation and
 * egress-testkit a scriptable fake.
 *
 * <p>Thread-safe. A resolver never widens: a name whose lookup fails, times out or yields nothing
 * maps to the addresses it last had within a bounded grace time, and then to nothing — never to
 * "any".
 */
public interface NameResolver {

  /**
   * The current addresses of {@code names}, looking up (concurrently) those not cached. Blocks at
   * most for the resolver's query timeout. Names that could not be resolved are absent from the
   * result or map to an empty set.
   *
   * @throws InterruptedException if interrupted while waiting for answers
   */
  Resolutions resolve(Set<HostName> names) throws InterruptedException;

  /**
   * Calls {@code listener} whenever the address set of one of {@code names} changes, with the new
   * resolutions of all of {@code names} and the set of names that changed. Not called when an
   * answer repeats the known addresses. The listener may run on any thread, including inside a
   * {@link #resolve} call, and must not block for long. Enforcers subscribe before they resolve, so
   * that no change between the two is missed.
   *
   * @return a handle whose {@link Subscription#close()} stops the calls (idempotent)
   */
  Subscription subscribe(Set<HostName> names, Listener listener);

  /**
   * A resolver that always answers {@code resolutions} (names it does not hold resolve to nothing)
   * and never reports a change: for previews and dry runs, where nothing is looked up or followed.
   */
  static NameResolver fixed(Resolutions resolutions) {
    Objects.requireNonNull(resolutions, "resolutions");
    return new NameResolver() {
      @Override
      public Resolutions resolve(Set<HostName> names) {
        Map<HostName, Set<InetAddress>> answers = new HashMap<>();
        names.forEach(name -> answers.put(name, resolutions.addressesOf(name)));
        return new Resolutions(answers);
      }

      @Override
      public Subscription subscribe(Set<HostName> names, Listener listener) {
        return () -> {};
      }
    };
  }

  /** Receives address changes. */
  @FunctionalInterface
  interface Listener {
    void onChange(Resolutions current, Set<HostName> changed);
  }

  /** A registration with {@link #subscribe}; closing it is idempotent and does not throw. */
  interface Subscription extends AutoCloseable {
    @Override
    void close();
  }
}
