package dev.egress.daemon.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.policy.UserText;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;

/**
 * One request: {@code {"id": ID, "command": NAME, "args": {...}}}.
 *
 * @param id a string or an integer, echoed in the answer
 * @param command the command's name
 * @param args the arguments; an empty object when the request has none
 */
public record Request(JsonNode id, String command, Args args) {
  private static final Set<String> FIELDS = Set.of("id", "command", "args");

  public Request {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(args, "args");
  }

  /** What one line of a request connection holds. */
  public sealed interface Line {}

  /** A request to carry out. */
  public record Valid(Request request) implements Line {}

  /**
   * A request with a readable id that is refused: answered with that id; the connection goes on.
   */
  public record Refused(JsonNode id, RequestException reason) implements Line {}

  /**
   * A line whose id cannot be read (not UTF-8, not JSON, not an object, no usable id): answered
   * with {@code "id": null}, after which the connection is closed, since nothing later on it can be
   * matched to a request with certainty.
   */
  public record Unreadable(RequestException reason) implements Line {}

  /** Reads one line (without its newline). Never throws for what a client sends. */
  public static Line read(byte[] line) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(line))
              .toString();
    } catch (CharacterCodingException e) {
      return unreadable("the request is not UTF-8");
    }
    JsonNode parsed;
    try {
      parsed = Json.parse(text);
    } catch (JsonProcessingException e) {
      return unreadable("the request is not JSON: " + e.getOriginalMessage());
    }
    if (!parsed.isObject()) {
      return unreadable("a request is a JSON object, one per line");
    }
    JsonNode id = parsed.get("id");
    if (id == null || !(id.isTextual() || (id.isIntegralNumber() && id.canConvertToLong()))) {
      return new Unreadable(
          RequestException.invalidField(
              "id", "a request needs an id: a string or an integer of at most 64 bits"));
    }
    try {
      return new Valid(request(id, (ObjectNode) parsed));
    } catch (RequestException e) {
      return new Refused(id, e);
    }
  }

  private static Request request(JsonNode id, ObjectNode request) throws RequestException {
    Iterator<String> names = request.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw RequestException.invalidField(
            name, "unknown field " + UserText.quote(name) + ": a request has id, command and args");
      }
    }
    JsonNode command = request.get("command");
    if (command == null || !command.isTextual()) {
      throw RequestException.invalidField("command", "a request needs a command, a string");
    }
    JsonNode args = request.get("args");
    if (args != null && !args.isObject()) {
      throw RequestException.invalidField("args", "args must be an object");
    }
    return new Request(
        id, command.textValue(), Args.of(args == null ? Json.object() : (ObjectNode) args));
  }

  private static Unreadable unreadable(String message) {
    return new Unreadable(new RequestException(ErrorCode.INVALID_REQUEST, message));
  }
}
