package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.egress.cli.VerifyProbe.Result;
import dev.egress.cli.VerifyProbe.Verdict;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** How a probe is judged: a refusal counts only when its control got through. */
class VerifyProbeProperties {
  private static final VerifyProbe ALLOWED =
      new VerifyProbe("allowed", "a:443", true, null, List.of("nc"));
  private static final VerifyProbe REFUSED =
      new VerifyProbe("refused", "a:80", false, "allowed", List.of("nc"));

  @Property
  void judge_observingTheOppositeOfThePolicy_isAlwaysAMismatch(
      @ForAll boolean expectThrough, @ForAll Verdict controlVerdict) {
    VerifyProbe probe = expectThrough ? ALLOWED : REFUSED;
    Result control = new Result(ALLOWED, "through", controlVerdict, "");

    assertEquals(Verdict.MISMATCH, probe.judge(!expectThrough, control, "").verdict());
  }

  @Property
  void judge_aRefusalWhoseControlDidNotMatch_isNeverAMatch(@ForAll Verdict controlVerdict) {
    Result control = new Result(ALLOWED, "x", controlVerdict, "");

    Verdict verdict = REFUSED.judge(false, control, "").verdict();

    assertEquals(controlVerdict == Verdict.MATCH ? Verdict.MATCH : Verdict.INCONCLUSIVE, verdict);
  }

  @Test
  void judge_aRefusalWithoutItsControlsResult_provesNothing() {
    assertNotEquals(Verdict.MATCH, REFUSED.judge(false, null, "").verdict());
  }

  @Test
  void judge_anAllowedProbeThatGetsThrough_matchesWithoutControl() {
    assertEquals(Verdict.MATCH, ALLOWED.judge(true, null, "").verdict());
  }
}
