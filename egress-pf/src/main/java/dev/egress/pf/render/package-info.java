/**
 * Pure rendering of policies to pf anchor rulesets and table contents.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.pf.render;

import org.jspecify.annotations.NullMarked;
