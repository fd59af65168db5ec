package dev.egress.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/** Reading a request never throws, whatever the bytes, and says what it refused and why. */
class RequestProperties {
  @Property(tries = 2000)
  void anyBytes_areReadOrRefused_neverThrown(@ForAll @Size(max = 200) byte[] line) {
    Request.Line read = Request.read(line);

    assertNotNull(read);
    if (read instanceof Request.Unreadable unreadable) {
      assertEquals(ErrorCode.INVALID_REQUEST, unreadable.reason().code());
    }
  }

  @Property(tries = 2000)
  void anyJsonLikeText_isReadOrRefused_neverThrown(@ForAll("jsonish") String text) {
    Request.Line read = Request.read(text.getBytes(StandardCharsets.UTF_8));

    if (read instanceof Request.Valid valid) {
      try {
        Command.of(valid.request());
      } catch (RequestException e) {
        assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
      }
    }
  }

  @Provide
  Arbitrary<String> jsonish() {
    Arbitrary<String> pieces =
        Arbitraries.of(
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"id\"",
            "\"command\"",
            "\"args\"",
            "\"attach\"",
            "\"container\"",
            "\"addresses\"",
            "\"policy\"",
            "\"name\"",
            "\"text\"",
            "1",
            "-1",
            "1.5",
            "null",
            "true",
            "\"10.213.0.5\"",
            "\"c1\"",
            "\"\\u0000\"",
            " ");
    return pieces.list().ofMaxSize(40).map(list -> String.join("", list));
  }

  @Property
  void aRefusedRequest_keepsItsId(@ForAll long id) {
    Request.Line read =
        Request.read(("{\"id\":" + id + ",\"command\":7}").getBytes(StandardCharsets.UTF_8));

    Request.Refused refused = assertInstanceOf(Request.Refused.class, read);
    assertEquals(id, refused.id().longValue());
    assertEquals("command", refused.reason().details().get("field").asText());
  }
}
