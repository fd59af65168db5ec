package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PortRangeTest {
  private static String rejected(String text) {
    return assertThrows(IllegalArgumentException.class, () -> PortRange.parse(text)).getMessage();
  }

  @Test
  void parse_readsSinglePortsAndRanges() {
    assertEquals(PortRange.of(443), PortRange.parse("443"));
    assertEquals(new PortRange(5432, 5433), PortRange.parse("5432-5433"));
    assertEquals(PortRange.all(), PortRange.parse("1-65535"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "65536", "99999"})
  void parse_rejectsPortsOutOfRange(String text) {
    assertTrue(rejected(text).contains("out of range 1-65535"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "-1",
        "1-",
        "-",
        "a",
        "1-2-3",
        " 443",
        "443 ",
        "+443",
        "123456",
        "99999999999999999999",
        "٤٤٣",
        "0x1bb"
      })
  void parse_rejectsWhatIsNotAPort(String text) {
    assertTrue(rejected(text).contains("is not a port"), text);
  }

  @Test
  void parse_quotesWhatIsNotAPort_escapedAndCut() {
    assertEquals(
        "'4\\u202E43' is not a port: expected a number from 1 to 65535",
        assertThrows(IllegalArgumentException.class, () -> PortRange.parse("4\u202E43"))
            .getMessage());
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> PortRange.parse("9".repeat(3000)))
            .getMessage()
            .contains("...' (3000 characters) is not a port"));
  }

  @Test
  void protocols_quoteWhatIsNotOne_escaped() {
    assertEquals(
        "unknown protocol 'tc\\u200Bp': expected tcp or udp",
        assertThrows(IllegalArgumentException.class, () -> Protocol.fromKeyword("tc\u200Bp"))
            .getMessage());
  }

  @Test
  void parse_ofAReversedRange_suggestsTheOrderedOne() {
    assertTrue(rejected("443-80").contains("write 80-443"));
  }

  @Test
  void constructor_checksBothEnds() {
    assertThrows(IllegalArgumentException.class, () -> new PortRange(0, 1));
    assertThrows(IllegalArgumentException.class, () -> new PortRange(1, 65536));
    assertThrows(IllegalArgumentException.class, () -> new PortRange(2, 1));
  }

  @Test
  void contains_isInclusive() {
    PortRange range = new PortRange(5432, 5433);
    assertFalse(range.contains(5431));
    assertTrue(range.contains(5432));
    assertTrue(range.contains(5433));
    assertFalse(range.contains(5434));
    assertEquals(2, range.size());
    assertFalse(range.isSinglePort());
  }

  @Test
  void toString_isThePolicyForm() {
    assertEquals("443", PortRange.of(443).toString());
    assertEquals("5432-5433", new PortRange(5432, 5433).toString());
  }

  @Test
  void compareTo_ordersByFirstThenLast() {
    assertTrue(new PortRange(1, 10).compareTo(new PortRange(2, 3)) < 0);
    assertTrue(new PortRange(1, 10).compareTo(new PortRange(1, 11)) < 0);
    assertEquals(0, new PortRange(1, 10).compareTo(new PortRange(1, 10)));
  }
}
