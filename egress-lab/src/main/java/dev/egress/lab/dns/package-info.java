/**
 * An authoritative DNS server for tests and labs ({@link dev.egress.lab.dns.TestDnsServer}): in
 * process on 127.0.0.1, or on a lab address inside a network namespace, answering from records set
 * at run time or from a {@link dev.egress.lab.dns.ZoneText}.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.lab.dns;

import org.jspecify.annotations.NullMarked;
