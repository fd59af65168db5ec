/**
 * Egress policies as immutable values: what a container may reach (host names, networks, its
 * gateway), on which protocol and ports, which DNS resolvers it may ask, and whether denials are
 * logged. Everything a policy does not name is denied. Values are validated and normalised when
 * constructed, so an invalid policy cannot exist. {@link dev.egress.policy.PolicyText} reads and
 * writes the human-editable file format; {@link dev.egress.policy.EgressPolicy#permits} is the one
 * decision function.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.policy;

import org.jspecify.annotations.NullMarked;
