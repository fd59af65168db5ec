package dev.egress.daemon.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostedEnforcerTest {
  private final InMemoryEgressEnforcer enforcer =
      InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).build();
  private final List<String> steps = new ArrayList<>();

  @Test
  void close_stopsWhatAnswersThroughTheEnforcerWhileTheEnforcerStillServes() {
    hosted(
            () -> steps.add("first: " + attachOutcome("c1")),
            () -> steps.add("after: " + attachOutcome("c2")))
        .close();

    // The DNS filter stops while its attachments are still there; the resolver after the enforcer.
    assertEquals(List.of("first: attached", "after: refused"), steps);
  }

  @Test
  void close_whenStoppingTheFilterFails_stillClosesTheEnforcerAndWhatItUsed() {
    HostedEnforcer hosted =
        hosted(
            () -> {
              throw new IllegalStateException("filter would not stop");
            },
            () -> steps.add("after: " + attachOutcome("c2")));

    assertThrows(IllegalStateException.class, hosted::close);
    assertEquals(List.of("after: refused"), steps);
  }

  private HostedEnforcer hosted(Runnable closeFirst, Runnable closeAfter) {
    return new HostedEnforcer(
        enforcer,
        "nftables",
        id -> (RuleSetName) () -> "mem-" + id.value(),
        List::of,
        List::of,
        closeFirst,
        closeAfter);
  }

  private String attachOutcome(String id) {
    try {
      enforcer.attach(
          new ContainerEndpoint(
              ContainerId.of(id), List.of(IpAddresses.parse("10.213.0." + id.substring(1))), null),
          PolicyText.parse("allow 192.0.2.10 port 443\ndns none\n", "test"));
      return "attached";
    } catch (EgressException | PolicySyntaxException e) {
      throw new AssertionError(e);
    } catch (IllegalStateException closed) {
      return "refused";
    }
  }
}
