/**
 * What users' tests need: an in-memory fake enforcer, a scriptable name resolver, the conformance
 * kit every enforcer passes, jqwik arbitraries for policies, and timing helpers for benchmarks
 * ({@link dev.egress.testkit.SideBySide}, {@link dev.egress.testkit.ScaleCurve}).
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.testkit;

import org.jspecify.annotations.NullMarked;
