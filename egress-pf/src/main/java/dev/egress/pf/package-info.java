/**
 * The macOS enforcer on pf: PfEgressEnforcer and its builder.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.pf;

import org.jspecify.annotations.NullMarked;
