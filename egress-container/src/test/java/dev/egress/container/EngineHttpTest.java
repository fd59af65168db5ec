package dev.egress.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * EngineHttp against a scripted daemon that answers malformed HTTP: every such answer fails with
 * {@link ContainerCliException} naming the request and the fault, never with an unchecked
 * exception.
 */
class EngineHttpTest {
  private static final String REQUEST = "GET /containers/a/json";
  private static final String CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

  @TempDir Path directory;

  /** The failure of a request answered with {@code answer}; it names the request. */
  private ContainerCliException refused(byte[] answer) throws Exception {
    try (FakeEngine engine = new FakeEngine(directory, request -> answer)) {
      EngineHttp http = new EngineHttp(engine.socket(), Duration.ofSeconds(5));
      ContainerCliException e =
          assertThrows(
              ContainerCliException.class, () -> http.send("GET", "/containers/a/json", null));
      assertTrue(e.getMessage().startsWith(REQUEST + ": "), e.getMessage());
      return e;
    }
  }

  private ContainerCliException refused(String answer) throws Exception {
    return refused(answer.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static void assertNames(String fault, ContainerCliException e) {
    assertTrue(e.getMessage().contains(fault), e.getMessage());
  }

  @ParameterizedTest(name = "chunk size ''{0}''")
  @CsvSource(
      delimiter = '|',
      value = {
        "zz        | bad chunk size 'zz'",
        "''        | bad chunk size ''",
        "-5        | bad chunk size '-5'",
        "+3        | bad chunk size '+3'",
        "100000000 | bad chunk size '100000000'",
        "ffffffff  | bad chunk size 'ffffffff'",
        "7fffffff  | ended mid-chunk",
        "7ffffff0  | ended mid-chunk",
      })
  void aBadOrHugeChunkSize_fails(String size, String fault) throws Exception {
    assertNames(fault, refused(CHUNKED + size + "\r\nabc\r\n0\r\n\r\n"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cutChunks")
  void aChunkedBodyCutShort_fails(String body) throws Exception {
    assertNames("ended mid-chunk", refused(CHUNKED + body));
  }

  static Stream<Arguments> cutChunks() {
    return Stream.of(
        Arguments.of(Named.of("no chunk at all", "")),
        Arguments.of(Named.of("cut inside a size line", "5")),
        Arguments.of(Named.of("cut inside a chunk", "5\r\nab")),
        Arguments.of(Named.of("cut after a chunk's data", "5\r\nhello")),
        Arguments.of(Named.of("cut before the last chunk", "5\r\nhello\r\n")));
  }

  @Test
  void aChunkNotFollowedByCrlf_fails() throws Exception {
    assertNames(
        "a chunk of 5 bytes is not followed by CRLF", refused(CHUNKED + "5\r\nhelloXX0\r\n\r\n"));
  }

  @ParameterizedTest(name = "Content-Length ''{0}''")
  @CsvSource(
      delimiter = '|',
      value = {
        "ten         | bad Content-Length 'ten'",
        "''          | bad Content-Length ''",
        "-1          | bad Content-Length '-1'",
        "+3          | bad Content-Length '+3'",
        "99999999999 | bad Content-Length '99999999999'",
        "10          | ended before its body did",
        "2147483647  | ended before its body did",
      })
  void aBadOrShortContentLength_fails(String length, String fault) throws Exception {
    assertNames(fault, refused("HTTP/1.1 200 OK\r\nContent-Length: " + length + "\r\n\r\nabc"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("notHttp")
  void anAnswerThatIsNotHttp_fails(String answer, String fault) throws Exception {
    assertNames(fault, refused(answer));
  }

  static Stream<Arguments> notHttp() {
    return Stream.of(
        Arguments.of(Named.of("nothing", ""), "no complete head"),
        Arguments.of(Named.of("a cut head", "HTTP/1.1 200 OK\r\n"), "no complete head"),
        Arguments.of(
            Named.of("another protocol", "SSH-2.0-OpenSSH_9.6\r\n\r\n"),
            "not an HTTP response: 'SSH-2.0-OpenSSH_9.6'"),
        Arguments.of(
            Named.of("no status", "HTTP/1.1 OK\r\n\r\n"), "not an HTTP response: 'HTTP/1.1 OK'"),
        Arguments.of(
            Named.of("a status out of range", "HTTP/1.1 999 X\r\n\r\n"),
            "not an HTTP response: 'HTTP/1.1 999 X'"),
        Arguments.of(Named.of("an empty head", "\r\n\r\n"), "not an HTTP response: ''"));
  }

  @Test
  void aResponseOverTheCap_fails_butOneAtTheCapIsRead() throws Exception {
    byte[] head = "HTTP/1.1 200 OK\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    byte[] atCap = Arrays.copyOf(head, EngineHttp.MAX_RESPONSE);
    byte[] overCap = Arrays.copyOf(head, EngineHttp.MAX_RESPONSE + 1);

    ContainerCliException e = refused(overCap);
    assertNames("the response is larger than " + EngineHttp.MAX_RESPONSE + " bytes", e);
    assertFalse(e.getMessage().contains("cannot be reached"), "the daemon was reached");

    try (FakeEngine engine = new FakeEngine(directory, request -> atCap)) {
      EngineHttp http = new EngineHttp(engine.socket(), Duration.ofSeconds(5));
      EngineHttp.Response response = http.send("GET", "/containers/a/json", null);
      assertEquals(EngineHttp.MAX_RESPONSE - head.length, response.body().length);
    }
  }
}
