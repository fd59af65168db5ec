package dev.egress.pf.pfctl;

import dev.egress.policy.UserText;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An anchor path as {@code pfctl -a} takes it, such as {@code com.apple/000.egress/agent-1}:
 * components separated by {@code /}, each starting with a letter or digit and holding only {@code
 * A-Z a-z 0-9 _ . -}, and at most {@value #MAX_LENGTH} characters in all. The only copy of that
 * rule: {@link Pfctl} takes only paths of this type, and the pfctl wrapper script of {@code
 * egressctl sudoers} matches them with {@link #pattern()} and {@link #childPattern()}.
 *
 * <p>Why the whole path counts: loading a ruleset ({@code pfctl -a PATH -f -}) copies the whole
 * {@code -a} argument into the anchor's name field, {@code char name[PF_ANCHOR_NAME_SIZE]} with
 * {@code PF_ANCHOR_NAME_SIZE} 64 (xnu {@code bsd/net/pfvar.h}, {@code struct pf_anchor}; its path
 * field is {@code MAXPATHLEN}), and fails with {@code pfctl_add_rule: strlcpy} when the copy does
 * not fit with its terminating NUL ({@code pfctl_rules()} in pfctl.c, FreeBSD's {@code
 * sbin/pfctl/pfctl.c}, whose OpenBSD lineage Apple's pfctl shares: {@code strlcpy(pf.anchor->name,
 * anchorname, sizeof(pf.anchor->name)) >= sizeof(pf.anchor->name)}). So a path of 64 characters or
 * more cannot be loaded, whatever its components: the parent's length is taken from its children's
 * budget ({@link #childNameBudget}).
 *
 * <p>Components never start with {@code _} (pfctl refuses to modify such anchors, which pf
 * reserves) or {@code .}, and never contain {@code *} (a wildcard in anchor rules) or spaces.
 *
 * @param value the path
 */
public record AnchorPath(String value) {
  /** The longest path pfctl loads: {@code PF_ANCHOR_NAME_SIZE} (64) less the terminating NUL. */
  public static final int MAX_LENGTH = 63;

  /** One component, in the common subset of Java and POSIX extended regular expressions. */
  static final String COMPONENT = "[A-Za-z0-9][A-Za-z0-9_.-]*";

  private static final Pattern SHAPE = Pattern.compile(COMPONENT + "(/" + COMPONENT + ")*");

  /**
   * @throws IllegalArgumentException naming what is wrong
   */
  public AnchorPath {
    Objects.requireNonNull(value, "value");
    if (!SHAPE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          UserText.quote(value)
              + " is not a pf anchor path: write components of A-Z a-z 0-9 _ . - separated by"
              + " '/', each starting with a letter or digit, such as com.apple/000.egress");
    }
    if (value.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "anchor path "
              + UserText.quote(value)
              + " has "
              + value.length()
              + " characters; pfctl loads anchors of at most "
              + MAX_LENGTH
              + " (PF_ANCHOR_NAME_SIZE 64, with the NUL), else it fails with 'pfctl_add_rule:"
              + " strlcpy'");
    }
  }

  /**
   * The path {@code value}.
   *
   * @throws IllegalArgumentException as the constructor does
   */
  public static AnchorPath of(String value) {
    return new AnchorPath(value);
  }

  /**
   * How long the name of a child of this anchor may be: what is left of {@link #MAX_LENGTH} after
   * this path and the {@code /}. Zero or less when no child fits.
   */
  public int childNameBudget() {
    return MAX_LENGTH - value.length() - 1;
  }

  /**
   * The path of this anchor's child {@code name}.
   *
   * @throws IllegalArgumentException if the whole path would exceed {@link #MAX_LENGTH}
   */
  public AnchorPath child(AnchorName name) {
    if (name.value().length() > childNameBudget()) {
      throw new IllegalArgumentException(
          "anchor name '"
              + name
              + "' has "
              + name.value().length()
              + " characters, but below "
              + value
              + " only "
              + Math.max(0, childNameBudget())
              + " fit into pfctl's "
              + MAX_LENGTH
              + "-character anchor paths");
    }
    return new AnchorPath(value + "/" + name.value());
  }

  /**
   * The name of {@code path} (as {@code pfctl -s Anchors} lists it) when it is a direct child of
   * this anchor with a name of {@link AnchorName}'s shape that fits below it; empty otherwise.
   */
  public Optional<AnchorName> childName(String path) {
    String prefix = value + "/";
    if (!path.startsWith(prefix)) {
      return Optional.empty();
    }
    String name = path.substring(prefix.length());
    return AnchorName.isName(name) && name.length() <= childNameBudget()
        ? Optional.of(new AnchorName(name))
        : Optional.empty();
  }

  /**
   * A regular expression that matches exactly this path, in the common subset of Java and POSIX
   * extended regular expressions (the pfctl wrapper script's {@code [[ =~ ]]}).
   */
  public String pattern() {
    return value.replace(".", "\\.");
  }

  /**
   * A regular expression, as {@link #pattern()}, that matches exactly the paths {@link #child}
   * makes: this path, {@code /}, and an {@link AnchorName} that fits.
   */
  public String childPattern() {
    return pattern() + "/" + AnchorName.pattern(childNameBudget());
  }

  @Override
  public String toString() {
    return value;
  }
}
