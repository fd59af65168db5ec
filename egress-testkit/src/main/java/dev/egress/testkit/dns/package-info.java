/**
 * DNS in a test without sockets or with a process of its own: {@link
 * dev.egress.testkit.dns.ScriptedResolver} answers dnsjava queries from a script, and {@link
 * dev.egress.testkit.dns.TestDnsServerMain} runs the lab's {@link dev.egress.lab.dns.TestDnsServer}
 * as a program. No test touches the network.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.testkit.dns;

import org.jspecify.annotations.NullMarked;
