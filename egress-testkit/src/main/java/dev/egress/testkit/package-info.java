/**
 * What users' tests need: an in-memory fake enforcer, a scriptable name resolver, the conformance
 * kit every enforcer passes, and jqwik arbitraries for policies.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.testkit;

import org.jspecify.annotations.NullMarked;
