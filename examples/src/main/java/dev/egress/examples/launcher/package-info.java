/**
 * A container launcher with egress control built in, in the style of NanoClaw's container runner:
 * it starts a container per group session, waits for its address, attaches the group's policy
 * through an {@link dev.egress.enforcer.EgressEnforcer}, and only then hands out the container
 * ({@link dev.egress.examples.launcher.ManagedContainer}) so work can reach it. Stopping detaches;
 * start-up reconciles what a previous launcher left behind; policy files are reloaded on change.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.examples.launcher;

import org.jspecify.annotations.NullMarked;
