package dev.egress.cli;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import java.io.IOException;
import java.nio.file.Path;

/** Reads policy files for the commands, turning every failure into a {@link CommandFailure}. */
final class PolicyFiles {
  private PolicyFiles() {}

  /**
   * The policy in {@code file}, read by {@link PolicyText#read} (a regular file of at most {@link
   * PolicyText#MAX_SIZE} bytes).
   *
   * @throws CommandFailure with {@link ExitCodes#FINDINGS} and one {@code FILE:LINE:COLUMN:
   *     message} line per problem, or one line saying why the file cannot be read
   */
  static EgressPolicy read(Path file) {
    try {
      return PolicyText.read(file);
    } catch (PolicySyntaxException e) {
      throw new CommandFailure(
          ExitCodes.FINDINGS,
          e.problems().stream().map(PolicySyntaxException.Problem::toString).toList());
    } catch (IOException e) {
      // PolicyText says which file and why: "FILE: not a regular file (...)".
      throw new CommandFailure(
          ExitCodes.FINDINGS, "egressctl: cannot read policy file " + e.getMessage());
    }
  }
}
