package dev.egress.pf.render;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The anchor that holds one child anchor per attached container, and optionally a guard.
 *
 * <p>macOS's stock {@code /etc/pf.conf} holds {@code anchor "com.apple/*"}, which evaluates the
 * rules of each direct child of {@code com.apple} (in the byte order of their names) and nothing
 * deeper. A parent at {@code com.apple/000.egress} is such a child; its ruleset {@code anchor "*"}
 * in turn evaluates each container's anchor {@code com.apple/000.egress/<name>}. No edit of pf.conf
 * is needed.
 *
 * @param path where the parent lives, such as {@link #DEFAULT_PATH}; checked by {@link
 *     AnchorNames#checkPath}. A path that no anchor rule reaches filters nothing: see {@link
 *     #reachedByStockMacosRuleset}
 * @param guard the managed network to close by default, or null for none
 * @param logGuarded whether the guard logs what it blocks (to pflog0)
 */
public record ParentAnchor(String path, @Nullable ManagedNetwork guard, boolean logGuarded) {
  /**
   * The default parent anchor path. {@code com.apple/*} runs its children in byte order and a
   * {@code quick} pass in an earlier one would be final, so the name sorts before Apple's own
   * numbered anchors ({@code 200.AirDrop}, {@code 250.ApplicationFirewall}).
   */
  public static final String DEFAULT_PATH = "com.apple/000.egress";

  /**
   * @throws IllegalArgumentException if the path is not a valid anchor path
   */
  public ParentAnchor {
    AnchorNames.checkPath(Objects.requireNonNull(path, "path"));
  }

  /** The parent at {@link #DEFAULT_PATH}, without a guard. */
  public static ParentAnchor defaults() {
    return new ParentAnchor(DEFAULT_PATH, null, false);
  }

  /** The same parent with {@code network} guarded. */
  public ParentAnchor guarding(ManagedNetwork network, boolean log) {
    return new ParentAnchor(path, Objects.requireNonNull(network, "network"), log);
  }

  /** The full anchor path of the child named {@code childName}, for {@code pfctl -a}. */
  public String childPath(String childName) {
    return path + "/" + AnchorNames.checkComponent(childName);
  }

  /**
   * Whether the stock macOS pf.conf evaluates this parent: a direct child of {@code com.apple}. Any
   * other path needs an anchor rule of its own in the main ruleset.
   */
  public boolean reachedByStockMacosRuleset() {
    return path.startsWith("com.apple/") && path.indexOf('/', "com.apple/".length()) < 0;
  }
}
