/**
 * The README's demo: the nftables enforcer and its DNS filter, with a NanoClaw-like {@code dns
 * filter} policy, in a network lab, with a table of real probes.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.examples.demo;

import org.jspecify.annotations.NullMarked;
