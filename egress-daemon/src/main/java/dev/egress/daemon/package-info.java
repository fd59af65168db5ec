/**
 * egressd's configuration ({@link dev.egress.daemon.DaemonConfig}, read by {@link
 * dev.egress.daemon.ConfigText} with positioned errors) and its entry point ({@link
 * dev.egress.daemon.Egressd}).
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.daemon;

import org.jspecify.annotations.NullMarked;
