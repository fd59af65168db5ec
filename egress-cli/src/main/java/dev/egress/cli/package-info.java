/**
 * egressctl, the operator's command line: validate and render policies, check that the host can
 * enforce them, show and clean up what the kernel holds, and print a least-privilege sudoers entry.
 * {@link dev.egress.cli.Egressctl} is the entry point; everything it touches on the host comes in
 * through a {@link dev.egress.cli.CliHost}, so tests drive it against fakes.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.cli;

import org.jspecify.annotations.NullMarked;
