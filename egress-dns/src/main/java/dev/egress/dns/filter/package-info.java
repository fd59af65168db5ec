/**
 * The filtering DNS resolver: the only resolver of containers whose policy says {@code dns filter}.
 * It answers only names their policy allows, and puts each answer's addresses into the container's
 * sets (through the enforcer's {@link dev.egress.enforcer.FilteredAttachments}) before the answer
 * leaves. One per host, shared by all containers.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.dns.filter;

import org.jspecify.annotations.NullMarked;
