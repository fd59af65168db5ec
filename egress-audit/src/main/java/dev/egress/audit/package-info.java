/**
 * Refused packets as {@link dev.egress.audit.AuditRecord}s: parsed from tcpdump's lines ({@link
 * dev.egress.audit.TcpdumpLine}), attributed to the container that held the source address at that
 * moment ({@link dev.egress.audit.AddressHistory}), written as JSON Lines ({@link
 * dev.egress.audit.AuditWriter}, {@link dev.egress.audit.AuditJson}) under the schema {@code
 * audit-record.schema.json} beside this package's classes.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.audit;

import org.jspecify.annotations.NullMarked;
