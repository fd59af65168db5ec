/**
 * {@link dev.egress.micrometer.EgressMeters}: an enforcer's traffic counters, attach latency and
 * events as Micrometer meters.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.micrometer;

import org.jspecify.annotations.NullMarked;
