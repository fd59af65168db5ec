package dev.egress.nftables;

import dev.egress.enforcer.EgressException;
import org.jspecify.annotations.Nullable;

/**
 * An {@code nft} or {@code conntrack} call failed; {@link #kind()} says how, the hint what to do.
 */
public final class NftException extends EgressException {
  private static final long serialVersionUID = 1L;

  /** The classes of failure the driver tells apart. */
  public enum Kind {
    /** The executable is not installed or not on PATH. */
    NOT_INSTALLED,
    /** Not root and no CAP_NET_ADMIN. */
    PERMISSION_DENIED,
    /** The kernel has no nf_tables (or conntrack) support. */
    KERNEL_UNSUPPORTED,
    /** The script refers to a table, chain, set or element that does not exist. */
    MISSING_OBJECT,
    /** An element (a container address) is already mapped elsewhere. */
    CONFLICT,
    /** nft rejected the script's syntax: a bug in the renderer. */
    SYNTAX,
    /** The command did not finish in time and was killed. */
    TIMEOUT,
    /** Anything else. */
    OTHER
  }

  private final Kind kind;

  NftException(Kind kind, String message, String hint, @Nullable Throwable cause) {
    super(message, hint, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
