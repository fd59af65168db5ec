/**
 * A small abstraction over Apple's {@code container} command line: run a container detached,
 * inspect it, list, stop, exec into it, and create the network managed containers use. Output is
 * JSON, parsed in the three shapes the CLI has printed over its releases.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.container;

import org.jspecify.annotations.NullMarked;
