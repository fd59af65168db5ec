package dev.egress.pf.pfctl;

import dev.egress.testkit.pf.FakePfctl;

/** Plugs the testkit's in-memory pfctl into the process seam. */
public final class FakePfctlRunner {
  private FakePfctlRunner() {}

  public static ProcessRunner of(FakePfctl fake) {
    return (command, stdin, timeout) -> {
      FakePfctl.Result result = fake.execute(command, stdin);
      return new ProcessResult(result.exitCode(), result.stdout(), result.stderr());
    };
  }
}
