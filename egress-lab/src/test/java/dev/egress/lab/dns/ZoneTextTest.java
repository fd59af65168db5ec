package dev.egress.lab.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.dns.TestDnsServer.Behaviour;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

class ZoneTextTest {

  @Test
  void parse_readsRecordsBehavioursAndComments() throws Exception {
    ZoneText zone =
        ZoneText.parse(
            "# test zone\n"
                + "api.example.com.  60  A     192.0.2.10   # primary\n"
                + "api.example.com   60  aaaa  2001:db8::10\n"
                + "www.example.com   300 CNAME api.example.com\n"
                + "empty.example.com 60  NODATA\n"
                + "broken.example.com SERVFAIL\n"
                + "gone.example.com nxdomain\n"
                + "silent.example.com DROP\n"
                + "closed.example.com REFUSED\n");

    List<Record> api = zone.records().get(Name.fromString("api.example.com."));
    assertEquals(2, api.size());
    assertEquals(Type.A, api.get(0).getType());
    assertEquals(60, api.get(0).getTTL());
    assertEquals(Type.AAAA, api.get(1).getType());
    assertEquals(
        Type.CNAME, zone.records().get(Name.fromString("www.example.com.")).get(0).getType());
    assertTrue(zone.records().get(Name.fromString("empty.example.com.")).isEmpty());
    assertEquals(Behaviour.SERVFAIL, zone.behaviours().get(Name.fromString("broken.example.com.")));
    assertEquals(Behaviour.NXDOMAIN, zone.behaviours().get(Name.fromString("gone.example.com.")));
    assertEquals(Behaviour.DROP, zone.behaviours().get(Name.fromString("silent.example.com.")));
    assertEquals(Behaviour.REFUSED, zone.behaviours().get(Name.fromString("closed.example.com.")));
  }

  @Test
  void parse_namesTheBadLine() {
    IllegalArgumentException wrongFamily =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ZoneText.parse(
                    "ok.example.com 60 A 192.0.2.1\nbad.example.com 60 A 2001:db8::1\n"));
    assertTrue(wrongFamily.getMessage().startsWith("zone line 2 "), wrongFamily.getMessage());

    IllegalArgumentException badTtl =
        assertThrows(
            IllegalArgumentException.class, () -> ZoneText.parse("x.example.com soon A 192.0.2.1"));
    assertTrue(badTtl.getMessage().contains("TTL 'soon'"), badTtl.getMessage());

    assertThrows(IllegalArgumentException.class, () -> ZoneText.parse("x.example.com 60 MX mail"));
    assertThrows(IllegalArgumentException.class, () -> ZoneText.parse("x.example.com LATER"));
    assertThrows(IllegalArgumentException.class, () -> ZoneText.parse("x.example.com 60 A"));
  }

  @Property(tries = 200)
  void parse_keepsEveryAddressLineWithItsTtl(
      @ForAll @IntRange(min = 0, max = 255) int octet,
      @ForAll @IntRange(min = 0, max = 86400) int ttl)
      throws Exception {
    ZoneText zone = ZoneText.parse("h.example.com " + ttl + " A 198.51.100." + octet);

    Record record = zone.records().get(Name.fromString("h.example.com.")).get(0);
    assertEquals(ttl, record.getTTL());
    assertEquals("198.51.100." + octet, record.rdataToString());
  }
}
