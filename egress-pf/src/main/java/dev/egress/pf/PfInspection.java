package dev.egress.pf;

import dev.egress.enforcer.TrafficCounters;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.pfctl.TableName;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads back what egress-pf has loaded below a parent anchor, with the driver's read-only calls
 * only ({@code -s rules}, {@code -v -s rules}, {@code -s Anchors}, {@code -T show}): the container
 * anchors, their source addresses and tables, and whether the main ruleset and the parent anchor
 * still lead to them. {@link PfEgressEnforcer} reconciles with this same read-back; operators'
 * tools (egressctl status, cleanup, doctor) show it.
 *
 * <p>Thread-safe and stateless; every method blocks for its pfctl calls, changes nothing, and
 * throws {@link PfctlException} (with a hint) when pfctl fails.
 */
public final class PfInspection {
  /**
   * The stock macOS main-ruleset rule that evaluates {@code com.apple/*} anchors, as {@code pfctl
   * -s rules} prints it. Only this whole line counts: {@code anchor "com.apple/*" in on lo0 all}
   * would evaluate them for some packets only.
   */
  static final String APPLE_HOOK = "anchor \"com.apple/*\" all";

  private static final String CHILDREN_HOOK = "anchor \"*\"";
  private static final Pattern SOURCE = Pattern.compile(" from (\\S+) to ");
  private static final Pattern TABLE_REFERENCE = Pattern.compile("<(" + TableName.PATTERN + ")>");

  private final Pfctl pfctl;
  private final ParentAnchor parent;

  /**
   * @param pfctl the driver to read with (its command may be the least-privilege wrapper)
   * @param parent the parent anchor whose direct children are the container anchors
   */
  public PfInspection(Pfctl pfctl, ParentAnchor parent) {
    this.pfctl = Objects.requireNonNull(pfctl, "pfctl");
    this.parent = Objects.requireNonNull(parent, "parent");
  }

  /**
   * One container anchor as pf holds it.
   *
   * @param name the child anchor name (the rule-set name)
   * @param path the full anchor path, {@code PARENT/NAME}
   * @param sources the source addresses its rules govern ({@code from ADDRESS to}), in rule order
   * @param rules its rules as {@code pfctl -s rules} prints them; never empty
   */
  public record LoadedAnchor(
      AnchorName name, AnchorPath path, List<InetAddress> sources, List<String> rules) {
    public LoadedAnchor {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(path, "path");
      sources = List.copyOf(sources);
      rules = List.copyOf(rules);
      if (rules.isEmpty()) {
        throw new IllegalArgumentException("anchor " + path + " holds no rules: it is not loaded");
      }
    }

    /**
     * The tables its rules refer to ({@code <name>}), in order of first reference; references to
     * names the renderer never makes are left out.
     */
    public List<TableName> tableNames() {
      Set<TableName> names = new LinkedHashSet<>();
      for (String rule : rules) {
        Matcher table = TABLE_REFERENCE.matcher(rule);
        while (table.find()) {
          names.add(new TableName(table.group(1)));
        }
      }
      return List.copyOf(names);
    }
  }

  /**
   * The container anchors now loaded: {@code -a PARENT -s Anchors}, then {@code -a CHILD -s rules}
   * for each direct child listed whose name is an {@link AnchorName} that fits below the parent (no
   * other can have been loaded by egress-pf). An anchor without rules is left out: pf keeps listing
   * a flushed anchor until reboot.
   */
  public List<LoadedAnchor> childAnchors() throws PfctlException {
    List<LoadedAnchor> loaded = new ArrayList<>();
    for (String listed : pfctl.anchors(parent.path())) {
      Optional<AnchorName> name = parent.path().childName(listed);
      if (name.isEmpty()) {
        continue;
      }
      AnchorPath path = parent.childPath(name.get());
      List<String> rules = pfctl.rules(path);
      if (!rules.isEmpty()) {
        loaded.add(new LoadedAnchor(name.get(), path, sources(rules), rules));
      }
    }
    return loaded;
  }

  /**
   * The rule statistics of each loaded container anchor, summed ({@link Pfctl#ruleCounters}):
   * {@code -a PARENT -s Anchors}, then {@code -a CHILD -v -s rules} for each child as in {@link
   * #childAnchors}. pf keeps them with the rules, so a load of the anchor starts them again; table
   * changes keep them.
   */
  public Map<AnchorName, TrafficCounters> counters() throws PfctlException {
    Map<AnchorName, TrafficCounters> counters = new LinkedHashMap<>();
    for (String listed : pfctl.anchors(parent.path())) {
      Optional<AnchorName> name = parent.path().childName(listed);
      if (name.isPresent()) {
        pfctl
            .ruleCounters(parent.childPath(name.get()))
            .ifPresent(counted -> counters.put(name.get(), counted));
      }
    }
    return counters;
  }

  /**
   * Each table {@code anchor}'s rules refer to, with its entries as {@code -a CHILD -t T -T show}
   * prints them: one call per table.
   */
  public Map<TableName, List<String>> tables(LoadedAnchor anchor) throws PfctlException {
    Map<TableName, List<String>> tables = new LinkedHashMap<>();
    for (TableName table : anchor.tableNames()) {
      tables.put(table, pfctl.table(anchor.path(), table));
    }
    return tables;
  }

  /**
   * Whether the main ruleset still holds a line that is exactly {@code anchor "com.apple/*" all}
   * ({@code -s rules}, whitespace collapsed). Without it, no anchor below {@code com.apple} is
   * evaluated, or only for some packets.
   */
  public boolean mainRulesetHooked() throws PfctlException {
    return pfctl.mainRules().contains(APPLE_HOOK);
  }

  /**
   * Whether the parent anchor holds exactly what {@link PfRenderer#renderParent} prints for it, the
   * guard included: false when it is missing, altered, or lost its guard.
   */
  public boolean parentIntact() throws PfctlException {
    return PfBackend.sameRules(
        PfBackend.ruleLines(PfRenderer.renderParent(parent)), pfctl.rules(parent.path()));
  }

  /**
   * Whether the parent anchor holds {@code anchor "*"} ({@code -a PARENT -s rules}), which makes pf
   * evaluate the container anchors below it. A parent loaded with a different guard still counts;
   * {@link #parentIntact} compares it exactly.
   */
  public boolean parentEvaluatesChildren() throws PfctlException {
    return pfctl.rules(parent.path()).stream().anyMatch(rule -> rule.startsWith(CHILDREN_HOOK));
  }

  private static List<InetAddress> sources(List<String> rules) {
    Set<InetAddress> sources = new LinkedHashSet<>();
    for (String rule : rules) {
      Matcher matcher = SOURCE.matcher(rule);
      if (matcher.find() && IpAddresses.looksLikeAddress(matcher.group(1))) {
        sources.add(IpAddresses.parse(matcher.group(1)));
      }
    }
    return List.copyOf(sources);
  }
}
