package dev.egress.cli;

import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads egress-pf's child anchors back from pf with the driver's read-only calls: {@code -a PARENT
 * -s Anchors}, then {@code -a CHILD -s rules} and {@code -a CHILD -t T -T show} for each.
 *
 * <p>The source addresses are read from the rules the same way egress-pf's backend reads them
 * ({@code from ADDRESS to}); a flushed anchor, which pf keeps listing until reboot, is not
 * installed.
 */
final class PfReadBack {
  private static final Pattern SOURCE = Pattern.compile(" from (\\S+) to ");
  private static final Pattern TABLE_REFERENCE = Pattern.compile("<([a-z][a-z0-9_]{0,30})>");

  private PfReadBack() {}

  static List<InstalledRuleSet> installed(Pfctl pfctl, ParentAnchor parent) throws PfctlException {
    List<InstalledRuleSet> installed = new ArrayList<>();
    String prefix = parent.path() + "/";
    for (String path : pfctl.anchors(parent.path())) {
      if (!path.startsWith(prefix) || path.indexOf('/', prefix.length()) >= 0) {
        continue;
      }
      List<String> rules = pfctl.rules(path);
      if (rules.isEmpty()) {
        continue;
      }
      Set<InetAddress> sources = new LinkedHashSet<>();
      Set<String> tableNames = new LinkedHashSet<>();
      for (String rule : rules) {
        Matcher source = SOURCE.matcher(rule);
        if (source.find() && IpAddresses.looksLikeAddress(source.group(1))) {
          sources.add(IpAddresses.parse(source.group(1)));
        }
        Matcher table = TABLE_REFERENCE.matcher(rule);
        while (table.find()) {
          tableNames.add(table.group(1));
        }
      }
      Map<String, List<String>> tables = new LinkedHashMap<>();
      for (String table : tableNames) {
        tables.put(table, pfctl.table(path, table));
      }
      installed.add(new InstalledRuleSet(
          path.substring(prefix.length()), path, List.copyOf(sources), rules.size(), tables));
    }
    return installed;
  }
}
