package dev.egress.daemon.wire;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.jspecify.annotations.Nullable;

/**
 * The one JSON reader and writer of egressd. Reading is strict: standard JSON only (no comments, no
 * single quotes, no NaN), a duplicated field is an error rather than last-one-wins, one value per
 * line, nesting at most {@value #MAX_DEPTH} deep. Writing produces one line per value.
 */
public final class Json {
  /** The deepest nesting a request may have; protocol values nest three levels. */
  public static final int MAX_DEPTH = 16;

  private static final ObjectMapper MAPPER =
      new ObjectMapper(
              JsonFactory.builder()
                  .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(MAX_DEPTH)
                          .maxNumberLength(40)
                          .build())
                  .build())
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Json() {}

  /** A new, empty object. */
  public static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }

  /**
   * Parses one JSON value.
   *
   * @throws JsonProcessingException if the text is not exactly one JSON value
   */
  public static JsonNode parse(String text) throws JsonProcessingException {
    return MAPPER.readTree(text);
  }

  /** A time as the protocol writes it: ISO-8601 UTC with milliseconds. */
  public static String time(Instant instant) {
    return TIME.format(instant);
  }

  /** The time {@link #time} wrote. */
  public static Instant parseTime(String text) {
    return Instant.from(TIME.parse(text));
  }

  /** A successful answer's line: {@code {"id": ID, "ok": true, "data": DATA}} and a newline. */
  public static byte[] answer(JsonNode id, ObjectNode data) {
    ObjectNode answer = object();
    answer.set("id", id);
    answer.put("ok", true);
    answer.set("data", data);
    return line(answer);
  }

  /**
   * An error answer's line: {@code {"id": ID, "ok": false, "error": {...}}} and a newline; {@code
   * "id": null} when the request's id could not be read.
   */
  public static byte[] error(@Nullable JsonNode id, RequestException error) {
    ObjectNode answer = object();
    answer.set("id", id == null ? NullNode.getInstance() : id);
    answer.put("ok", false);
    answer.set("error", error.toJson());
    return line(answer);
  }

  /** An event's line for a subscriber: {@code {"event": EVENT}} and a newline. */
  public static byte[] event(ObjectNode event) {
    ObjectNode line = object();
    line.set("event", event);
    return line(line);
  }

  /** {@code value} as one line of UTF-8 JSON and a newline (JSON escapes every line break). */
  public static byte[] line(JsonNode value) {
    try {
      byte[] json = MAPPER.writeValueAsBytes(value);
      byte[] line = new byte[json.length + 1];
      System.arraycopy(json, 0, line, 0, json.length);
      line[json.length] = '\n';
      return line;
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("a JSON tree could not be written", e);
    }
  }

  /** {@code value} as JSON text, for files. */
  public static String text(JsonNode value) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("a JSON tree could not be written", e);
    }
  }
}
