package dev.egress.pf.render;

import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.HostName;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One container's rendered anchor: the complete ruleset text to load with {@code pfctl -a
 * PARENT/NAME -f -}, and its tables for later {@code -T replace} refreshes.
 *
 * <p>The rules (every line but the table definitions) depend on the policy and the container alone,
 * never on what names resolve to: a refresh that replaces tables leaves the loaded rules exactly as
 * {@link PfRenderer#renderChild} would render them now.
 *
 * @param anchorName the child anchor's name under the parent
 * @param text the ruleset: table definitions, then rules, one per line, newline-terminated
 * @param tables the tables the text defines, in the order it defines them
 */
public record ChildRuleset(AnchorName anchorName, String text, List<PfTable> tables) {
  public ChildRuleset {
    Objects.requireNonNull(anchorName, "anchorName");
    Objects.requireNonNull(text, "text");
    tables = List.copyOf(tables);
  }

  /**
   * The table called {@code name}.
   *
   * @throws IllegalArgumentException if the ruleset has no such table
   */
  public PfTable table(TableName name) {
    for (PfTable table : tables) {
      if (table.name().equals(name)) {
        return table;
      }
    }
    throw new IllegalArgumentException(
        "anchor " + anchorName + " has no table <" + name + ">; it has " + tableNames());
  }

  /** The tables holding at least one of {@code changedNames}: the ones a refresh must replace. */
  public List<PfTable> tablesHolding(Set<HostName> changedNames) {
    List<PfTable> result = new ArrayList<>();
    for (PfTable table : tables) {
      if (!Collections.disjoint(table.hostNames(), changedNames)) {
        result.add(table);
      }
    }
    return List.copyOf(result);
  }

  /** The names of all tables, in definition order. */
  public List<TableName> tableNames() {
    return tables.stream().map(PfTable::name).toList();
  }
}
