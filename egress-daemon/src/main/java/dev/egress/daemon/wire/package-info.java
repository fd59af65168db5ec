/**
 * The egressd protocol on the wire: requests read strictly from one JSON line each, answers and
 * events written as one line each, the error codes, and the protocol's values (containers, policy
 * references) decoded into the library's validated types. Internal to egressd; the contract is
 * docs/egressd-protocol.md.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.daemon.wire;

import org.jspecify.annotations.NullMarked;
