package dev.egress.daemon.wire;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.policy.UserText;
import java.util.Objects;

/**
 * A request refused or failed: the error answer's code, message and details. The message is made
 * safe to show ({@link UserText#line}) whatever it quotes.
 */
public final class RequestException extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final transient ObjectNode details;

  /**
   * @param details the error's fields besides {@code code} and {@code message}; copied
   */
  public RequestException(ErrorCode code, String message, ObjectNode details) {
    super(UserText.line(message));
    this.code = Objects.requireNonNull(code, "code");
    this.details = details.deepCopy();
    if (this.details.has("code") || this.details.has("message")) {
      throw new IllegalArgumentException("details must not hold code or message");
    }
  }

  public RequestException(ErrorCode code, String message) {
    this(code, message, JsonNodeFactory.instance.objectNode());
  }

  /** An {@code invalid-request} error naming the field at fault (a dotted path). */
  public static RequestException invalidField(String field, String message) {
    ObjectNode details = JsonNodeFactory.instance.objectNode();
    details.put("field", field);
    return new RequestException(ErrorCode.INVALID_REQUEST, message, details);
  }

  /** An error with one string detail, made safe to show as the message is. */
  public static RequestException withDetail(
      ErrorCode code, String message, String detail, String value) {
    ObjectNode details = JsonNodeFactory.instance.objectNode();
    details.put(detail, UserText.line(value));
    return new RequestException(code, message, details);
  }

  public ErrorCode code() {
    return code;
  }

  /** The error's fields besides code and message (a copy). */
  public ObjectNode details() {
    return details.deepCopy();
  }

  /** The error object of an answer: {@code {"code": ..., "message": ..., ...details}}. */
  ObjectNode toJson() {
    ObjectNode error = JsonNodeFactory.instance.objectNode();
    error.put("code", code.wireName());
    error.put("message", String.valueOf(getMessage()));
    error.setAll(details);
    return error;
  }
}
