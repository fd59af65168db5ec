package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.TrafficCounters;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code pfctl -a A -v -s rules} read into a container's counters. The text is written from
 * pfctl(8) ({@code -v}: "produce more verbose output", the rule statistics after each rule) and the
 * format pfctl prints them in ({@code [ Evaluations: %-8llu Packets: %-8llu Bytes: %-10llu States:
 * %-6u]}, then {@code [ Inserted: uid %u pid %u State Creations: %-6u]}), with rules as egress-pf
 * renders them, both families; pf cannot run here.
 */
class PfctlRuleCountersTest {
  private static final String RECORDED =
      """
      pass in quick inet proto tcp from 192.168.64.3 to <tcp_443> port = 443 flags S/SA keep state
        [ Evaluations: 14        Packets: 48        Bytes: 21304       States: 1     ]
        [ Inserted: uid 0 pid 8137 State Creations: 2     ]
      pass in quick inet proto udp from 192.168.64.3 to 192.168.64.1 port = 53 keep state
        [ Evaluations: 14        Packets: 4         Bytes: 312         States: 0     ]
        [ Inserted: uid 0 pid 8137 State Creations: 2     ]
      block return in log quick inet from 192.168.64.3 to any
        [ Evaluations: 9         Packets: 3         Bytes: 180         States: 0     ]
        [ Inserted: uid 0 pid 8137 State Creations: 0     ]
      pass in quick inet6 proto tcp from fd00:64::3 to <tcp_443> port = 443 flags S/SA keep state
        [ Evaluations: 2         Packets: 10        Bytes: 1900        States: 0     ]
        [ Inserted: uid 0 pid 8137 State Creations: 1     ]
      block return in log quick inet6 from fd00:64::3 to any
        [ Evaluations: 1         Packets: 1         Bytes: 80          States: 0     ]
        [ Inserted: uid 0 pid 8137 State Creations: 0     ]
      """;

  @Test
  void passRulesCountAsAllowed_blockRulesAsRefused_bothFamilies() {
    assertEquals(
        Optional.of(new TrafficCounters(62, 23516, 4, 260)), PfctlOutput.ruleCounters(RECORDED));
  }

  @Test
  void anAnchorWithoutRules_hasNoCounters() {
    assertEquals(Optional.empty(), PfctlOutput.ruleCounters(""));
  }

  @Test
  void rulesWithoutStatistics_areAnError_neverZero() {
    String plain = "block return in log quick inet from 192.168.64.3 to any\n";

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PfctlOutput.ruleCounters(plain));
    assertEquals(
        "pfctl printed no statistics for rule 'block return in log quick inet from 192.168.64.3 to"
            + " any'",
        e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            PfctlOutput.ruleCounters(
                plain + "pass in quick inet proto tcp from 192.168.64.3 to any\n"));
  }
}
