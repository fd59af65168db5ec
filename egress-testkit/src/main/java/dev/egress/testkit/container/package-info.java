/**
 * Apple's {@code container} CLI in a test: a scriptable fake with its state in a directory, run in
 * process or as an executable on a search path.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.testkit.container;

import org.jspecify.annotations.NullMarked;
