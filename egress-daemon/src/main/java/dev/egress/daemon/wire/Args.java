package dev.egress.daemon.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.policy.UserText;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The fields of one JSON object of a request, read strictly: every unknown field is refused (a typo
 * must not be ignored by a security service), every field has its type, and each refusal is an
 * {@code invalid-request} error naming the field by its dotted path ({@code container.addresses}).
 */
public final class Args {
  private final ObjectNode node;
  private final String path;

  private Args(ObjectNode node, String path) {
    this.node = node;
    this.path = path;
  }

  /** The fields of {@code node}, a request's {@code args} or another object read as strictly. */
  public static Args of(ObjectNode node) {
    return new Args(node, "");
  }

  /**
   * Refuses any field not in {@code known}.
   *
   * @throws RequestException invalid-request naming the first unknown field
   */
  public Args only(Set<String> known) throws RequestException {
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!known.contains(name)) {
        throw RequestException.invalidField(
            pathOf(name),
            "unknown field "
                + UserText.quote(pathOf(name))
                + (known.isEmpty() ? ": this command takes no arguments" : ": expected " + known));
      }
    }
    return this;
  }

  /**
   * The required string field {@code name}.
   *
   * @throws RequestException if it is missing or not a string
   */
  public String string(String name) throws RequestException {
    JsonNode value = required(name);
    if (!value.isTextual()) {
      throw mistyped(name, "a string");
    }
    return value.textValue();
  }

  /** The string field {@code name}, or null when absent. */
  public @Nullable String optionalString(String name) throws RequestException {
    return node.has(name) ? string(name) : null;
  }

  /**
   * The required object field {@code name}.
   *
   * @throws RequestException if it is missing or not an object
   */
  public Args object(String name) throws RequestException {
    JsonNode value = required(name);
    if (!value.isObject()) {
      throw mistyped(name, "an object");
    }
    return new Args((ObjectNode) value, pathOf(name) + ".");
  }

  /**
   * The required field {@code name}, a list of at most {@code max} strings.
   *
   * @throws RequestException if it is missing, not such a list, or longer
   */
  public List<String> strings(String name, int max) throws RequestException {
    JsonNode value = required(name);
    if (!value.isArray()) {
      throw mistyped(name, "a list of strings");
    }
    if (value.size() > max) {
      throw RequestException.invalidField(
          pathOf(name), pathOf(name) + " has " + value.size() + " entries; at most " + max);
    }
    List<String> strings = new ArrayList<>(value.size());
    for (JsonNode element : value) {
      if (!element.isTextual()) {
        throw mistyped(name, "a list of strings");
      }
      strings.add(element.textValue());
    }
    return strings;
  }

  /** Whether field {@code name} is present. */
  public boolean has(String name) {
    return node.has(name);
  }

  /** How many fields the object has. */
  public int size() {
    return node.size();
  }

  /** The dotted path of field {@code name}, for errors about its value. */
  public String pathOf(String name) {
    return path + name;
  }

  private JsonNode required(String name) throws RequestException {
    JsonNode value = node.get(name);
    if (value == null) {
      throw RequestException.invalidField(pathOf(name), "missing field '" + pathOf(name) + "'");
    }
    return value;
  }

  private RequestException mistyped(String name, String expected) {
    return RequestException.invalidField(
        pathOf(name), "field '" + pathOf(name) + "' must be " + expected);
  }
}
