package dev.egress.cli;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads policy files for the commands, turning every failure into a {@link CommandFailure}. */
final class PolicyFiles {
  private PolicyFiles() {}

  /**
   * The policy in {@code file}.
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
    } catch (NoSuchFileException e) {
      return failRead(file, "no such file");
    } catch (AccessDeniedException e) {
      return failRead(file, "permission denied");
    } catch (MalformedInputException e) {
      return failRead(file, "not UTF-8 text");
    } catch (IOException e) {
      return failRead(file, String.valueOf(e.getMessage()));
    }
  }

  private static EgressPolicy failRead(Path file, String why) {
    throw new CommandFailure(
        ExitCodes.FINDINGS, "egressctl: cannot read policy file " + file + ": " + why);
  }
}
