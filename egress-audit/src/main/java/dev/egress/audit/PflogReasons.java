package dev.egress.audit;

import dev.egress.policy.IpNetwork;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which of the pf enforcer's rules refused a packet that {@code pflog0} shows. pf names only the
 * last component of the anchor, cut to 15 bytes, so the anchor tells the parent (the guard) from a
 * container's anchor, and the packet tells the rest: in the parent, a source inside a guarded
 * subnet is an unattached address and any other a forged one; in a container's anchor, TCP or UDP
 * to port 53 met the block after the passes to the policy's resolvers, anything else the final
 * block. Whose packet it was is decided by its source address ({@link AddressHistory}), never by
 * the anchor name. Immutable and thread-safe.
 */
public final class PflogReasons {
  /** pf's log header holds 16 bytes of the ruleset name, its terminating NUL included. */
  static final int RULESET_NAME_BYTES = 15;

  private final String parentRuleset;
  private final List<IpNetwork> guardedSubnets;

  /**
   * @param parentAnchor the parent anchor's path, such as {@code com.apple/000.egress}
   * @param guardedSubnets the subnets of the parent's guard (none when it has no guard)
   */
  public PflogReasons(String parentAnchor, List<IpNetwork> guardedSubnets) {
    String last = parentAnchor.substring(parentAnchor.lastIndexOf('/') + 1);
    if (last.isEmpty() || !StandardCharsets.US_ASCII.newEncoder().canEncode(last)) {
      throw new IllegalArgumentException("not an anchor path: " + parentAnchor);
    }
    this.parentRuleset = last.substring(0, Math.min(last.length(), RULESET_NAME_BYTES));
    this.guardedSubnets = List.copyOf(guardedSubnets);
  }

  /**
   * The reason {@code entry} was refused, or null when it is not a refusal of ours: not {@code
   * block ... in}, or logged by a rule outside any anchor (our rules all lie in anchors).
   */
  public @Nullable Reason reasonOf(TcpdumpLine.PflogEntry entry) {
    Objects.requireNonNull(entry, "entry");
    if (!entry.action().equals("block") || !entry.direction().equals("in")) {
      return null;
    }
    if (entry.ruleset().isEmpty()) {
      return null;
    }
    RefusedPacket packet = entry.packet();
    if (entry.ruleset().equals(parentRuleset)) {
      return guardedSubnets.stream().anyMatch(s -> s.contains(packet.source()))
          ? Reason.GUARD_UNATTACHED
          : Reason.SPOOFED_SOURCE;
    }
    return packet.isDns() ? Reason.DNS_FOREIGN_RESOLVER : Reason.NOT_IN_POLICY;
  }
}
