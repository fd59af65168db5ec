package dev.egress.examples.launcher;

import dev.egress.enforcer.NameResolver;
import dev.egress.nftables.NftEgressEnforcer;
import java.nio.file.Path;
import java.util.List;

/**
 * A launcher process for the crash test: starts a launcher on the Docker suite's managed network
 * with the policies of directory {@code args[0]}, launches {@code args[2]} containers of group
 * {@code args[1]}, prints each one's id on a line, then {@code ready}, and waits to be killed.
 * Policies name addresses only: this process resolves no names.
 */
public final class DockerLauncherMain {
  private DockerLauncherMain() {}

  public static void main(String[] args) throws Exception {
    NftEgressEnforcer enforcer =
        DockerLab.enforcer(NameResolver.fixed(dev.egress.policy.Resolutions.none()));
    Launcher launcher = DockerLab.launcher(Path.of(args[0]), enforcer, LauncherListener.NONE);
    for (int i = 0; i < Integer.parseInt(args[2]); i++) {
      ManagedContainer container = launcher.launch(args[1], spec -> spec.command(idle()));
      System.out.println(container.id());
    }
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  /** Waits for work; as process 1 of its container it must end on SIGTERM by itself. */
  static List<String> idle() {
    return List.of("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done");
  }
}
