package dev.egress.lab.dns;

import dev.egress.lab.dns.TestDnsServer.Behaviour;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * The zone text that {@link TestDnsServer#loadZone} and {@link TestDnsServerMain} read: one entry
 * per line, fields separated by blanks, {@code #} starts a comment.
 *
 * <pre>
 * # name                TTL(s) type   value
 * api.example.com       60     A      192.0.2.10
 * api.example.com       60     AAAA   2001:db8::10
 * www.example.com       300    CNAME  api.example.com
 * empty.example.com     60     NODATA            # exists, but has no addresses
 * broken.example.com    SERVFAIL                 # always answered SERVFAIL
 * gone.example.com      NXDOMAIN                 # answered NXDOMAIN
 * closed.example.com    REFUSED                  # answered REFUSED
 * silent.example.com    DROP                     # never answered
 * </pre>
 *
 * <p>Names are absolute (a trailing dot is optional). A name without a line is answered NXDOMAIN.
 * Immutable once parsed.
 *
 * @param records the records of each name
 * @param behaviours names answered other than from their records
 */
public record ZoneText(Map<Name, List<Record>> records, Map<Name, Behaviour> behaviours) {

  public ZoneText {
    Map<Name, List<Record>> copy = new HashMap<>();
    records.forEach((name, list) -> copy.put(name, List.copyOf(list)));
    records = Map.copyOf(copy);
    behaviours = Map.copyOf(behaviours);
  }

  /**
   * Parses zone text.
   *
   * @throws IllegalArgumentException naming the line (1-based) and what is wrong with it
   */
  public static ZoneText parse(String text) {
    Map<Name, List<Record>> records = new HashMap<>();
    Map<Name, Behaviour> behaviours = new HashMap<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int hash = line.indexOf('#');
      String content = (hash >= 0 ? line.substring(0, hash) : line).trim();
      if (content.isEmpty()) {
        continue;
      }
      try {
        parseLine(content.split("\\s+"), records, behaviours);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "zone line "
                + (i + 1)
                + " ('"
                + content
                + "'): "
                + e.getMessage()
                + "; expected 'NAME TTL A|AAAA|CNAME VALUE', 'NAME TTL NODATA' or"
                + " 'NAME SERVFAIL|NXDOMAIN|REFUSED|DROP'",
            e);
      }
    }
    return new ZoneText(records, behaviours);
  }

  private static void parseLine(
      String[] fields, Map<Name, List<Record>> records, Map<Name, Behaviour> behaviours) {
    Name name = TestDnsServer.absolute(fields[0]);
    if (fields.length == 2) {
      String keyword = fields[1].toUpperCase(Locale.ROOT);
      Behaviour behaviour =
          switch (keyword) {
            case "SERVFAIL" -> Behaviour.SERVFAIL;
            case "NXDOMAIN" -> Behaviour.NXDOMAIN;
            case "REFUSED" -> Behaviour.REFUSED;
            case "DROP" -> Behaviour.DROP;
            default -> throw new IllegalArgumentException("unknown behaviour '" + fields[1] + "'");
          };
      behaviours.put(name, behaviour);
      return;
    }
    if (fields.length < 3) {
      throw new IllegalArgumentException("too few fields");
    }
    Duration ttl = parseTtl(fields[1]);
    String type = fields[2].toUpperCase(Locale.ROOT);
    List<Record> list = records.computeIfAbsent(name, n -> new ArrayList<>());
    if (type.equals("NODATA")) {
      if (fields.length != 3) {
        throw new IllegalArgumentException("NODATA takes no value");
      }
      return;
    }
    if (fields.length != 4) {
      throw new IllegalArgumentException("expected exactly one value after the type");
    }
    switch (type) {
      case "A", "AAAA" -> {
        Record record = TestDnsServer.addressRecord(name, ttl, fields[3]);
        if (!org.xbill.DNS.Type.string(record.getType()).equals(type)) {
          throw new IllegalArgumentException(
              "'" + fields[3] + "' is not an address of type " + type);
        }
        list.add(record);
      }
      case "CNAME" ->
          list.add(
              new CNAMERecord(name, DClass.IN, ttl.toSeconds(), TestDnsServer.absolute(fields[3])));
      default -> throw new IllegalArgumentException("unknown type '" + fields[2] + "'");
    }
  }

  private static Duration parseTtl(String text) {
    try {
      long seconds = Long.parseLong(text);
      if (seconds < 0 || seconds > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("TTL " + text + " is out of range");
      }
      return Duration.ofSeconds(seconds);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("TTL '" + text + "' is not a number of seconds", e);
    }
  }
}
