package dev.egress.daemon.wire;

import java.util.Locale;

/** The error codes of protocol version 1: a client branches on these. */
public enum ErrorCode {
  /** Not JSON, not an object, a missing, ill-typed or unknown field, a line too long. */
  INVALID_REQUEST,
  /** {@code command} names no command. */
  UNKNOWN_COMMAND,
  /** The policy text or file does not parse; the details hold each positioned problem. */
  INVALID_POLICY,
  /** The policy parses, but this enforcer cannot enforce it. */
  UNSUPPORTED_POLICY,
  /** The id is attached with another endpoint, or an address belongs to another container. */
  CONFLICT,
  /** {@code update} of an id that is not attached. */
  NOT_ATTACHED,
  /** The kernel state could not be installed or removed: the container must not work. */
  ENFORCEMENT_FAILED,
  /** The peer may not use the daemon. */
  PERMISSION_DENIED,
  /** A bug in egressd. */
  INTERNAL;

  /** The code as the wire writes it: {@code invalid-request}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
