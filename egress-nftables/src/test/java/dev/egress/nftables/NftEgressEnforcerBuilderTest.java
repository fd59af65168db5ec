package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.EgressException;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.testkit.FakeNameResolver;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The builder hands its process runner, commands and timeout to every nft call. */
class NftEgressEnforcerBuilderTest {
  @Test
  void build_runsNftThroughTheGivenRunner_withTheGivenCommandAndTimeout() {
    List<Command> seen = new CopyOnWriteArrayList<>();
    try (NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .processRunner(
                run -> {
                  seen.add(run);
                  return new ProcessResult(
                      1, "", "Error: Could not process rule: Operation not permitted\n");
                })
            .nftCommand(List.of("sudo", "-n", "/usr/sbin/nft"))
            .conntrackCommand(List.of("sudo", "-n", "/usr/sbin/conntrack"))
            .commandTimeout(Duration.ofSeconds(3))
            .build()) {

      assertThrows(EgressException.class, () -> enforcer.reconcile(Set.of()));
    }

    Command first = seen.get(0);
    assertEquals(List.of("sudo", "-n", "/usr/sbin/nft"), first.argv().subList(0, 3));
    assertEquals(Duration.ofSeconds(3), first.timeout());
  }

  @Test
  void builder_refusesEmptyCommandsAndTimeoutsThatAreNotPositive() {
    NftEgressEnforcer.Builder builder = NftEgressEnforcer.builder();
    assertThrows(IllegalArgumentException.class, () -> builder.nftCommand(List.of()));
    assertThrows(IllegalArgumentException.class, () -> builder.conntrackCommand(List.of()));
    assertThrows(IllegalArgumentException.class, () -> builder.commandTimeout(Duration.ZERO));
  }
}
