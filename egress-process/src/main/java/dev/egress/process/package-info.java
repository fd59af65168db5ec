/**
 * Running external programs to completion: {@link dev.egress.process.ProcessRunner} is the seam
 * (fakes implement it in process), {@link dev.egress.process.SystemProcessRunner} the one real
 * implementation. A {@link dev.egress.process.Command} names what to run, its standard input and
 * its timeout; a {@link dev.egress.process.ProcessResult} says how it ended, with capped output.
 * {@link dev.egress.process.InteractiveProcess} keeps a program running and speaks to it in
 * exchanges of lines (one {@code nft -i} for many commands), with the same tree-killing timeouts.
 * Failures are {@link dev.egress.process.ProcessException}s that name the command, how long it ran,
 * and what to do.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.process;

import org.jspecify.annotations.NullMarked;
