/**
 * The enforcer SPI: a launcher attaches a policy to a container when it starts and detaches it when
 * it stops. Implementations (pf on macOS, nftables on Linux, an in-memory fake in the testkit)
 * honour the contracts written on {@link dev.egress.enforcer.EgressEnforcer} and {@link
 * dev.egress.enforcer.Attachment}; the testkit's conformance kit checks them.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.enforcer;

import org.jspecify.annotations.NullMarked;
