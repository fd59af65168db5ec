/**
 * DNS in a test: an in-process DNS server and recorded answers, so no test touches the network.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.testkit.dns;

import org.jspecify.annotations.NullMarked;
