package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.wire.ErrorCode;
import dev.egress.daemon.wire.Json;
import dev.egress.daemon.wire.PolicyName;
import dev.egress.daemon.wire.PolicyRef;
import dev.egress.daemon.wire.RequestException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.UserText;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The policies a request can name: {@code NAME.policy} files of one directory, read with {@link
 * PolicyText#readText} (bounded, regular files only), and policy text. A name that has no file, or
 * whose file cannot be read, is an {@code invalid-request} about {@code policy.name}; text that
 * does not parse is {@code invalid-policy} with every positioned problem.
 */
public final class PolicyDirectory {
  /** The {@code source} of problems in policy text sent with a request. */
  public static final String TEXT_SOURCE = "text";

  private final Path directory;

  public PolicyDirectory(Path directory) {
    this.directory = Objects.requireNonNull(directory, "directory");
  }

  /**
   * The policy {@code ref} means.
   *
   * @throws RequestException invalid-request (no such file, unreadable) or invalid-policy
   */
  public EgressPolicy load(PolicyRef ref) throws RequestException {
    if (ref instanceof PolicyRef.Named named) {
      PolicyName name = named.name();
      String text;
      try {
        text = read(name);
      } catch (NoSuchFileException e) {
        throw RequestException.invalidField(
            "policy.name",
            "no policy "
                + UserText.quote(name.value())
                + ": there is no file "
                + name.fileName()
                + " in the policy directory "
                + UserText.line(directory.toString()));
      } catch (FileSystemException e) {
        throw RequestException.invalidField(
            "policy.name",
            "cannot read policy " + UserText.quote(name.value()) + ": " + e.getMessage());
      }
      return parse(text, name.fileName(), name.value());
    }
    return parse(((PolicyRef.Text) ref).text(), TEXT_SOURCE, TEXT_SOURCE);
  }

  /**
   * The text of the policy file of {@code name}.
   *
   * @throws FileSystemException as {@link PolicyText#readText} says
   */
  public String read(PolicyName name) throws FileSystemException {
    return PolicyText.readText(directory.resolve(name.fileName()));
  }

  /**
   * Parses policy text.
   *
   * @param label the source of the problems' messages ({@code agent.policy}, {@code text})
   * @param source the error's {@code source} detail: the policy name or {@code text}
   * @throws RequestException invalid-policy with every problem
   */
  public static EgressPolicy parse(String text, String label, String source)
      throws RequestException {
    try {
      return PolicyText.parse(text, label);
    } catch (PolicySyntaxException e) {
      throw invalidPolicy(e.problems(), source);
    }
  }

  /** The problems as the protocol writes them: {@code [{"line", "column", "message"}]}. */
  public static ArrayNode problems(List<PolicySyntaxException.Problem> problems) {
    ArrayNode array = Json.object().arrayNode();
    for (PolicySyntaxException.Problem problem : problems) {
      ObjectNode json = array.addObject();
      json.put("line", problem.line());
      json.put("column", problem.column());
      json.put("message", problem.message());
    }
    return array;
  }

  private static RequestException invalidPolicy(
      List<PolicySyntaxException.Problem> problems, String source) {
    ObjectNode details = Json.object();
    details.set("problems", problems(problems));
    details.put("source", source);
    String first = problems.get(0).toString();
    return new RequestException(
        ErrorCode.INVALID_POLICY,
        problems.size() == 1 ? first : first + " (and " + (problems.size() - 1) + " more)",
        details);
  }
}
