/**
 * pf in a test: an evaluator for the rules egress-pf renders, and a fake pfctl with fault
 * injection.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.testkit.pf;

import org.jspecify.annotations.NullMarked;
