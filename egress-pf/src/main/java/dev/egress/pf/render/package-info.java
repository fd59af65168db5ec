/**
 * Pure rendering of policies to pf anchor rulesets and table contents, and the grammar of that text
 * ({@link dev.egress.pf.render.LoadGrammar}) that the sudo wrapper enforces on every privileged
 * load, within a {@link dev.egress.pf.render.LoadScope}.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.pf.render;

import org.jspecify.annotations.NullMarked;
