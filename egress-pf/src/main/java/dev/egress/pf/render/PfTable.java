package dev.egress.pf.render;

import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One address table of a container's anchor: its name, the host names whose addresses it holds (so
 * that a refresh replaces only the tables whose names changed), and its current entries.
 *
 * @param name the table name
 * @param hostNames the policy's host names whose addresses the table holds; empty for a table of
 *     literal addresses and networks only, which never needs refreshing
 * @param entries every address and network in the table, sorted, without duplicates
 */
public record PfTable(TableName name, SortedSet<HostName> hostNames, List<IpNetwork> entries) {
  public PfTable {
    Objects.requireNonNull(name, "name");
    hostNames = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(hostNames));
    entries = List.copyOf(new TreeSet<>(entries));
  }

  /**
   * The table's contents as {@code pfctl -a ANCHOR -t NAME -T replace -f -} reads them: one address
   * or network per line; empty for an empty table (which {@code -T replace} empties).
   */
  public String contents() {
    StringBuilder out = new StringBuilder();
    for (IpNetwork entry : entries) {
      out.append(entry).append('\n');
    }
    return out.toString();
  }

  /** The {@code table <name> persist { ... }} line of the anchor file, without a newline. */
  String definition() {
    StringBuilder out = new StringBuilder("table <").append(name).append("> persist");
    if (!entries.isEmpty()) {
      out.append(" {");
      for (int i = 0; i < entries.size(); i++) {
        out.append(i == 0 ? " " : ", ").append(entries.get(i));
      }
      out.append(" }");
    }
    return out.toString();
  }
}
