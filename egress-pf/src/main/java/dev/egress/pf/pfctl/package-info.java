/**
 * Running pfctl: the process seam, error classification and parsers for its output.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.pf.pfctl;

import org.jspecify.annotations.NullMarked;
