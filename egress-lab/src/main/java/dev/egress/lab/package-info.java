/**
 * A network lab in Linux network namespaces for real-kernel tests of packet filters: a host
 * namespace routing between container namespaces and a small internet with TCP and UDP echo and
 * DNS, probes that run inside the containers, and clean-up that also sweeps what a crashed run left
 * behind.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.lab;

import org.jspecify.annotations.NullMarked;
