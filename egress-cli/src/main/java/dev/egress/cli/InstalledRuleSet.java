package dev.egress.cli;

import dev.egress.enforcer.RuleSetName;
import dev.egress.pf.PfInspection;
import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One container's rule set as read back from the kernel.
 *
 * @param name the rule-set name (pf child anchor name, nftables chain)
 * @param location where it lives (the full anchor path, or table and chain)
 * @param addresses the source addresses its rules govern
 * @param rules how many rules it holds
 * @param tables each address table it uses, with its entries as the kernel lists them
 */
record InstalledRuleSet(
    RuleSetName name,
    String location,
    List<InetAddress> addresses,
    int rules,
    Map<String, List<String>> tables) {
  InstalledRuleSet {
    addresses = List.copyOf(addresses);
    tables = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tables));
  }

  /** A pf container anchor as egress-pf reads it back, with the tables read for it (or none). */
  static InstalledRuleSet of(
      PfInspection.LoadedAnchor anchor, Map<TableName, List<String>> tables) {
    Map<String, List<String>> byName = new LinkedHashMap<>();
    tables.forEach((table, entries) -> byName.put(table.value(), entries));
    return new InstalledRuleSet(
        anchor.name(), anchor.path().value(), anchor.sources(), anchor.rules().size(), byName);
  }

  Map<String, Object> toJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("name", name.value());
    json.put("location", location);
    json.put("addresses", addresses.stream().map(IpAddresses::format).toList());
    json.put("rules", rules);
    Map<String, Object> tableJson = new LinkedHashMap<>();
    tables.forEach(tableJson::put);
    json.put("tables", tableJson);
    return json;
  }
}
