/**
 * The backend-neutral enforcement plan: what one container's rules must say, computed once per
 * install from its policy, its endpoint and what the policy's names resolve to. Address families,
 * port ranges with port 53 taken out, destinations with the gateway substituted, and the resolvers
 * are decided here, so that renderers (pf, nftables) only print. Besides {@link
 * dev.egress.policy.EgressPolicy} itself, this is the only code that acts on the kinds of
 * destinations and DNS rules.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.plan;

import org.jspecify.annotations.NullMarked;
