/**
 * The Linux enforcer on nftables: NftEgressEnforcer, its renderer and the nft driver.
 *
 * <p>Null arguments throw {@link java.lang.NullPointerException} unless stated.
 */
@NullMarked
package dev.egress.nftables;

import org.jspecify.annotations.NullMarked;
