package dev.egress.enforcer;

/**
 * What one container's rules let through and refused, as the kernel counts it: packets and bytes
 * (whole IP packets, headers included) of each kind, since the container's rules were last loaded.
 *
 * <p><b>Allowed</b> is what matched a rule of the container that lets traffic through: on nftables
 * the container's own packets (those opening a connection and those it sends on connections it
 * opened); on pf the packets of the connections those rules opened, both directions (pf counts a
 * state's packets on the rule that created it). <b>Refused</b> is what the container's rules
 * refused (its DNS to a foreign resolver included); what the host's guard refuses is no
 * container's.
 *
 * <p><b>Reset.</b> The kernel keeps the counters with the rules, so they start again from zero when
 * the container's rules are loaded again: at attach, at an update, and when drift is repaired.
 * Refreshing a name's addresses and a DNS filter's grants leave them as they are.
 *
 * @param allowedPackets packets let through
 * @param allowedBytes their bytes
 * @param refusedPackets packets refused
 * @param refusedBytes their bytes
 */
public record TrafficCounters(
    long allowedPackets, long allowedBytes, long refusedPackets, long refusedBytes) {
  /** No traffic. */
  public static final TrafficCounters ZERO = new TrafficCounters(0, 0, 0, 0);

  /**
   * @throws IllegalArgumentException if a count is negative
   */
  public TrafficCounters {
    if (allowedPackets < 0 || allowedBytes < 0 || refusedPackets < 0 || refusedBytes < 0) {
      throw new IllegalArgumentException(
          "traffic counts cannot be negative: allowed "
              + allowedPackets
              + " packets, "
              + allowedBytes
              + " bytes; refused "
              + refusedPackets
              + " packets, "
              + refusedBytes
              + " bytes");
    }
  }

  /** {@code packets} packets of {@code bytes} bytes let through. */
  public static TrafficCounters allowed(long packets, long bytes) {
    return new TrafficCounters(packets, bytes, 0, 0);
  }

  /** {@code packets} packets of {@code bytes} bytes refused. */
  public static TrafficCounters refused(long packets, long bytes) {
    return new TrafficCounters(0, 0, packets, bytes);
  }

  /**
   * Both counts added, as when several rules' counters make one container's; a sum past {@link
   * Long#MAX_VALUE} is that maximum (the kernel's counters are unsigned 64-bit, and a root process
   * can set them to anything).
   */
  public TrafficCounters plus(TrafficCounters other) {
    return new TrafficCounters(
        saturatedSum(allowedPackets, other.allowedPackets),
        saturatedSum(allowedBytes, other.allowedBytes),
        saturatedSum(refusedPackets, other.refusedPackets),
        saturatedSum(refusedBytes, other.refusedBytes));
  }

  /** {@code a + b} for counts (never negative), at most {@link Long#MAX_VALUE}. */
  private static long saturatedSum(long a, long b) {
    long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum;
  }
}
