package dev.egress.daemon.wire;

import java.util.Objects;
import java.util.Set;

/** Which policy a request means: a file of the policy directory, or policy text. */
public sealed interface PolicyRef {

  /** {@code {"name": NAME}}: the file {@code NAME.policy} of the policy directory. */
  record Named(PolicyName name) implements PolicyRef {
    public Named {
      Objects.requireNonNull(name, "name");
    }
  }

  /** {@code {"text": TEXT}}: the policy itself. */
  record Text(String text) implements PolicyRef {
    public Text {
      Objects.requireNonNull(text, "text");
    }
  }

  /**
   * The policy reference in field {@code field} of {@code args}: an object with exactly one of
   * {@code name} and {@code text}.
   *
   * @throws RequestException invalid-request naming the field at fault
   */
  static PolicyRef read(Args args, String field) throws RequestException {
    Args ref = args.object(field).only(Set.of("name", "text"));
    if (ref.size() != 1) {
      throw RequestException.invalidField(
          args.pathOf(field),
          "field '"
              + args.pathOf(field)
              + "' must hold either name (a policy file) or text (the policy), not "
              + (ref.size() == 0 ? "neither" : "both"));
    }
    if (ref.has("name")) {
      String name = ref.string("name");
      try {
        return new Named(new PolicyName(name));
      } catch (IllegalArgumentException e) {
        throw RequestException.invalidField(ref.pathOf("name"), String.valueOf(e.getMessage()));
      }
    }
    return new Text(ref.string("text"));
  }
}
