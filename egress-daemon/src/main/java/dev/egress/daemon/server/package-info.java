/**
 * egressd's Unix socket: created with its mode and owner before anyone can connect, every peer's
 * credentials checked before a command runs, requests read line by line within bounds and answered
 * in order, subscribers fed from bounded queues. Internal to egressd.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.daemon.server;

import org.jspecify.annotations.NullMarked;
