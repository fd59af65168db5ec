package dev.egress.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what {@code nft list table inet T} prints: each set's elements, and how many rules a chain
 * holds. Only the layout nft prints (one block a line, tab-indented) is understood; an element
 * list may wrap over several lines.
 */
final class NftSets {
  private NftSets() {}

  /** Each set of the listing with its elements as nft prints them, in listing order. */
  static Map<String, List<String>> parse(String listing) {
    Map<String, List<String>> sets = new LinkedHashMap<>();
    String currentSet = null;
    StringBuilder elements = null;
    for (String raw : listing.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("set ") && line.endsWith("{")) {
        currentSet = line.substring(4, line.length() - 1).strip();
        sets.put(currentSet, List.of());
        continue;
      }
      if (currentSet == null) {
        continue;
      }
      if (elements == null && line.startsWith("elements = {")) {
        elements = new StringBuilder(line.substring("elements = {".length()));
      } else if (elements != null) {
        elements.append(' ').append(line);
      } else if (line.equals("}")) {
        currentSet = null;
        continue;
      }
      if (elements != null && elements.indexOf("}") >= 0) {
        String inside = elements.substring(0, elements.indexOf("}"));
        List<String> entries = new ArrayList<>();
        for (String entry : inside.split(",")) {
          if (!entry.isBlank()) {
            entries.add(entry.strip());
          }
        }
        sets.put(currentSet, List.copyOf(entries));
        elements = null;
      }
    }
    return sets;
  }

  /** The number of rules in chain {@code name} of the listing; 0 when it is absent. */
  static int ruleCount(String listing, String name) {
    boolean inside = false;
    int rules = 0;
    for (String raw : listing.split("\n")) {
      String line = raw.strip();
      if (!inside) {
        inside = line.equals("chain " + name + " {");
        continue;
      }
      if (line.equals("}")) {
        break;
      }
      if (!line.isEmpty() && !line.startsWith("type ") && !line.startsWith("comment ")) {
        rules++;
      }
    }
    return rules;
  }
}
