package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class JsonTest {

  @Test
  void write_nestedValues_inMapOrder() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("b", List.of(1, true, "x"));
    map.put("a", Map.of());

    assertEquals("{\"b\":[1,true,\"x\"],\"a\":{}}\n", Json.write(map));
  }

  @Test
  void write_escapesQuotesBackslashesAndControlCharacters() {
    assertEquals("\"a\\\"b\\\\c\\nd\\u0001\"\n", Json.write("a\"b\\c\nd\u0001"));
  }

  @Test
  void write_unsupportedValue_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(1.5)));
  }

  @Property(tries = 200)
  void write_stringHasNoRawControlCharactersAndRoundTripsThroughJavaUnescape(@ForAll String text) {
    String json = Json.write(text).stripTrailing();
    assertEquals(0, json.chars().filter(c -> c < 0x20).count());
    assertEquals(text, unescape(json.substring(1, json.length() - 1)));
  }

  private static String unescape(String body) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      if (c != '\\') {
        out.append(c);
        continue;
      }
      char next = body.charAt(++i);
      switch (next) {
        case 'n' -> out.append('\n');
        case 'r' -> out.append('\r');
        case 't' -> out.append('\t');
        case 'u' -> {
          out.append((char) Integer.parseInt(body.substring(i + 1, i + 5), 16));
          i += 4;
        }
        default -> out.append(next);
      }
    }
    return out.toString();
  }
}
