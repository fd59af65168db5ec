package dev.egress.cli;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One check {@code egressctl verify} runs inside the throwaway container, and what it expects.
 *
 * @param name the probe's name in the table and for {@code --skip}
 * @param target what it reaches for, as shown
 * @param expectThrough whether the policy lets it through
 * @param control for a probe that expects a refusal: the probe of the same tool and kind that must
 *     get through, or the refusal proves nothing (a broken image or network refuses everything);
 *     null for probes that expect to get through
 * @param command the command run in the container; empty for the held connection's two checks,
 *     which the command runs itself
 */
record VerifyProbe(
    String name,
    String target,
    boolean expectThrough,
    @Nullable String control,
    List<String> command) {
  VerifyProbe {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(target, "target");
    command = List.copyOf(command);
    if (expectThrough != (control == null)) {
      throw new IllegalArgumentException(
          "probe " + name + ": a refusal needs a control, and only a refusal has one");
    }
  }

  /** What a probe that ran found, and whether that is what the policy says. */
  enum Verdict {
    /** Observed what the policy says (for a refusal: and its control got through). */
    MATCH,
    /** Observed the opposite of what the policy says. */
    MISMATCH,
    /** Refused, but its control did not get through either, or it could not run: proves nothing. */
    INCONCLUSIVE,
    /** Not run: the user asked with {@code --skip}. */
    SKIPPED
  }

  /**
   * A probe's result.
   *
   * @param observed what happened, as shown ("through", "refused", "cannot run")
   * @param detail why, for the table's last column (a tool's error, the control that failed)
   */
  record Result(VerifyProbe probe, String observed, Verdict verdict, String detail) {
    Result {
      Objects.requireNonNull(probe, "probe");
      Objects.requireNonNull(observed, "observed");
      Objects.requireNonNull(verdict, "verdict");
      Objects.requireNonNull(detail, "detail");
    }

    String expected() {
      return probe.expectThrough ? "through" : "refused";
    }
  }

  /**
   * The result of this probe, observed {@code through} or not, judged with its control's result
   * (null for probes without a control).
   */
  Result judge(boolean through, @Nullable Result controlResult, String detail) {
    String observed = through ? "through" : "refused";
    if (through != expectThrough) {
      return new Result(this, observed, Verdict.MISMATCH, detail);
    }
    if (control != null && (controlResult == null || controlResult.verdict() != Verdict.MATCH)) {
      return new Result(
          this,
          observed,
          Verdict.INCONCLUSIVE,
          "its control '"
              + control
              + "' did not get through, so this refusal proves nothing"
              + (detail.isEmpty() ? "" : "; " + detail));
    }
    return new Result(this, observed, Verdict.MATCH, detail);
  }

  /** A result saying the probe could not run here, and why. */
  Result cannotRun(String why) {
    return new Result(this, "cannot run", Verdict.INCONCLUSIVE, why);
  }

  Result skipped() {
    return new Result(this, "-", Verdict.SKIPPED, "--skip " + name);
  }
}
