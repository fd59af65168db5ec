/**
 * Resolution of policy host names on dnsjava: concurrent, one cache shared by all containers,
 * TTL-aware refresh, never widening.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.dns;

import org.jspecify.annotations.NullMarked;
