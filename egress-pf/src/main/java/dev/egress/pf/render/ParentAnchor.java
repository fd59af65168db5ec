package dev.egress.pf.render;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.AnchorPath;
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
 * <p>The parent's length sets how long container anchor names may be: pfctl loads anchor paths of
 * at most {@link AnchorPath#MAX_LENGTH} characters in all, parent included (see {@link AnchorPath}
 * for why), so a container's name gets what the parent leaves ({@link #childName}).
 *
 * @param path where the parent lives, such as {@link #DEFAULT_PATH}; at most {@link
 *     #MAX_PATH_LENGTH} characters, so that container names fit below it. A path that no anchor
 *     rule reaches filters nothing: see {@link #reachedByStockMacosRuleset}
 * @param guard the managed network to close by default, or null for none
 * @param logGuarded whether the guard logs what it blocks (to pflog0)
 */
public record ParentAnchor(AnchorPath path, @Nullable ManagedNetwork guard, boolean logGuarded) {
  /**
   * The default parent anchor path. {@code com.apple/*} runs its children in byte order and a
   * {@code quick} pass in an earlier one would be final, so the name sorts before Apple's own
   * numbered anchors ({@code 200.AirDrop}, {@code 250.ApplicationFirewall}).
   */
  public static final AnchorPath DEFAULT_PATH = AnchorPath.of("com.apple/000.egress");

  /**
   * The longest parent path: it leaves {@link AnchorName#MIN_GENERATED_LENGTH} characters for the
   * names of container anchors.
   */
  public static final int MAX_PATH_LENGTH =
      AnchorPath.MAX_LENGTH - 1 - AnchorName.MIN_GENERATED_LENGTH;

  /**
   * @throws IllegalArgumentException if the path is longer than {@link #MAX_PATH_LENGTH}
   */
  public ParentAnchor {
    Objects.requireNonNull(path, "path");
    if (path.value().length() > MAX_PATH_LENGTH) {
      throw new IllegalArgumentException(
          "parent anchor "
              + path
              + " has "
              + path.value().length()
              + " characters and leaves "
              + Math.max(0, path.childNameBudget())
              + " for container anchor names, fewer than the "
              + AnchorName.MIN_GENERATED_LENGTH
              + " a name needs: pfctl loads anchor paths of at most "
              + AnchorPath.MAX_LENGTH
              + " characters, parent included. Use a parent of at most "
              + MAX_PATH_LENGTH
              + " characters, such as "
              + DEFAULT_PATH);
    }
  }

  /** The parent at {@link #DEFAULT_PATH}, without a guard. */
  public static ParentAnchor defaults() {
    return new ParentAnchor(DEFAULT_PATH, null, false);
  }

  /** The same parent with {@code network} guarded. */
  public ParentAnchor guarding(ManagedNetwork network, boolean log) {
    return new ParentAnchor(path, Objects.requireNonNull(network, "network"), log);
  }

  /**
   * The name of container {@code id}'s anchor: {@link AnchorName#forContainer} within the room this
   * parent leaves, so that its whole path loads. Longer ids are cut and hashed; shorter parents
   * keep more of them.
   */
  public AnchorName childName(ContainerId id) {
    return AnchorName.forContainer(id, path.childNameBudget());
  }

  /**
   * The full anchor path of the child {@code name}, for {@code pfctl -a}.
   *
   * @throws IllegalArgumentException if the name does not fit below this parent
   */
  public AnchorPath childPath(AnchorName name) {
    return path.child(name);
  }

  /**
   * Whether the stock macOS pf.conf evaluates this parent: a direct child of {@code com.apple}. Any
   * other path needs an anchor rule of its own in the main ruleset.
   */
  public boolean reachedByStockMacosRuleset() {
    String text = path.value();
    return text.startsWith("com.apple/") && text.indexOf('/', "com.apple/".length()) < 0;
  }
}
