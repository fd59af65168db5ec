/**
 * The enforcer lifecycle written once for every packet filter: {@link
 * dev.egress.core.RulesetEnforcer} implements the SPI (attach, update, detach, refresh on address
 * changes, reconcile, drift checks, background retries) on top of a {@link
 * dev.egress.core.FirewallBackend}, which only knows how to load and remove one container's rules.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.core;

import org.jspecify.annotations.NullMarked;
