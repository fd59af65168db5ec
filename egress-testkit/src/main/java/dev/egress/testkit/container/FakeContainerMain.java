package dev.egress.testkit.container;

import java.nio.file.Path;
import java.util.Arrays;

/** The fake {@code container} executable: {@code FakeContainerMain STATE_DIR ARGS...}. */
public final class FakeContainerMain {
  private FakeContainerMain() {}

  public static void main(String[] args) {
    StringBuilder out = new StringBuilder();
    StringBuilder err = new StringBuilder();
    int status =
        FakeContainer.run(Path.of(args[0]), Arrays.asList(args).subList(1, args.length), out, err);
    System.out.print(out);
    System.err.print(err);
    System.out.flush();
    System.exit(status);
  }
}
