package dev.egress.enforcer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NameResolverTest {
  private static final HostName API = HostName.of("api.example.com");
  private static final HostName OTHER = HostName.of("other.example.com");
  private static final InetAddress ADDRESS = IpAddresses.parse("192.0.2.10");

  @Test
  void fixed_answersItsResolutions_namesItDoesNotHoldResolveToNothing_andNeverCallsBack()
      throws Exception {
    NameResolver resolver = NameResolver.fixed(new Resolutions(Map.of(API, Set.of(ADDRESS))));
    List<Set<HostName>> changes = new ArrayList<>();

    resolver.subscribe(Set.of(API, OTHER), (current, changed) -> changes.add(changed)).close();
    Resolutions answer = resolver.resolve(Set.of(API, OTHER));

    assertEquals(Set.of(ADDRESS), answer.addressesOf(API));
    assertEquals(Set.of(), answer.addressesOf(OTHER));
    assertEquals(List.of(), changes);
  }
}
