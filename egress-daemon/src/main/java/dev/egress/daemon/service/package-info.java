/**
 * What egressd does behind its socket: the commands carried out on one hosted enforcer, the record
 * of attachments kept in a state file across restarts, policy files re-read and pushed, health
 * checks, counters and the fan-out of events to subscribers. Internal to egressd.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.daemon.service;

import org.jspecify.annotations.NullMarked;
