/**
 * A small abstraction over container runtimes ({@link dev.egress.container.ContainerRuntime}): run
 * a container, inspect it, list, stop, exec into it, and create the network managed containers use.
 * Apple's {@code container} through its command line, whose JSON is parsed in the three shapes it
 * has printed over its releases; Docker through its Engine API on the daemon's Unix socket.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.container;

import org.jspecify.annotations.NullMarked;
