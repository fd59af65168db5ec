package dev.egress.audit;

import org.jspecify.annotations.Nullable;

/**
 * The NFLOG groups of the nftables enforcer's refusals: one per {@link Reason}, from {@code base}
 * on in the order of {@link Reason#values()}, so that the group a packet arrives on says why it was
 * refused.
 *
 * @param base the first group, 0..65532 (nftables' groups are 16-bit)
 */
public record NflogGroups(int base) {
  /** The default base: groups 2160..2163. */
  public static final int DEFAULT_BASE = 2160;

  public NflogGroups {
    if (base < 0 || base + Reason.values().length - 1 > 65535) {
      throw new IllegalArgumentException(
          "an NFLOG base group must be 0.." + (65536 - Reason.values().length) + ": " + base);
    }
  }

  /** Groups from {@link #DEFAULT_BASE}. */
  public static NflogGroups defaults() {
    return new NflogGroups(DEFAULT_BASE);
  }

  /** The group that refusals for {@code reason} are logged to. */
  public int group(Reason reason) {
    return base + reason.ordinal();
  }

  /** The reason of refusals logged to {@code group}, or null when it is not one of these. */
  public @Nullable Reason reasonOf(int group) {
    int index = group - base;
    return index >= 0 && index < Reason.values().length ? Reason.values()[index] : null;
  }
}
