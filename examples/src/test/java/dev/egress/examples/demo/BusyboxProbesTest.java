package dev.egress.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.lab.DnsAnswer;
import dev.egress.lab.Outcome;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How busybox nslookup's output is read (outputs as busybox 1.35 prints them). */
class BusyboxProbesTest {
  @Test
  void anAnswer_yieldsItsAddresses_notTheServers() {
    String out =
        "Server:\t\t10.212.0.1\nAddress:\t10.212.0.1:53\n\nNon-authoritative answer:\n"
            + "Name:\tapi.anthropic.com\nAddress: 10.99.0.10\n\n";
    assertEquals(
        new DnsAnswer(Outcome.REACHED, "NOERROR", List.of(IpAddresses.parse("10.99.0.10"))),
        BusyboxProbes.nslookupAnswer(new ProcessResult(0, out, "")));
  }

  @Test
  void noSuchName_isItsResponseCode_andATimeoutIsNoAnswer() {
    String out =
        "Server:\t\t10.212.0.1\nAddress:\t10.212.0.1:53\n\n"
            + "** server can't find registry.npmjs.org: NXDOMAIN\n\n";
    assertEquals(
        new DnsAnswer(Outcome.REACHED, "NXDOMAIN", List.of()),
        BusyboxProbes.nslookupAnswer(new ProcessResult(1, out, "")));
    assertEquals(
        new DnsAnswer(Outcome.TIMEOUT, null, List.of()),
        BusyboxProbes.nslookupAnswer(
            new ProcessResult(1, ";; connection timed out; no servers could be reached\n", "")));
  }
}
