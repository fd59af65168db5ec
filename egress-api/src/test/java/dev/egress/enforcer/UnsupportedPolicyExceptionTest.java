package dev.egress.enforcer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import org.junit.jupiter.api.Test;

class UnsupportedPolicyExceptionTest {
  @Test
  void withoutDnsFilter_namesWhatNeedsTheFilter_andHowToDoWithout() {
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host("*.b.example"), 443)
            .allowTcp(Destination.host("*.a.example"), 443)
            .dns(DnsRule.filter())
            .build();

    UnsupportedPolicyException refused =
        UnsupportedPolicyException.withoutDnsFilter("the pf enforcer", policy);

    assertEquals(
        "the policy needs a DNS filter for 'dns filter' and the wildcard host names *.a.example,"
            + " *.b.example, and the pf enforcer was built without one: it filters addresses and"
            + " does not see which name a container looked up",
        refused.getMessage().substring(0, refused.getMessage().indexOf(" (")));
    assertEquals(
        "build the enforcer with a DNS filter, or list each host name the container needs and"
            + " name its resolvers ('dns gateway' or addresses)",
        refused.hint());
  }
}
