package dev.egress.lab;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What a container's DNS query got: the outcome, and when it was answered the response code ({@code
 * NOERROR}, {@code NXDOMAIN}, ...) and the answer's A records.
 */
public record DnsAnswer(Outcome outcome, @Nullable String rcode, List<InetAddress> addresses) {
  public DnsAnswer {
    if ((outcome == Outcome.REACHED) != (rcode != null)) {
      throw new IllegalArgumentException("an answer has a response code, and only an answer");
    }
    addresses = List.copyOf(addresses);
  }

  /** Parses the agent's {@code answered RCODE ADDRESS...}, or another probe outcome. */
  static DnsAnswer parse(String agentAnswer) {
    Outcome outcome = Outcome.parse(agentAnswer);
    if (outcome != Outcome.REACHED) {
      return new DnsAnswer(outcome, null, List.of());
    }
    String[] words = agentAnswer.split(" ");
    if (words.length < 2) {
      throw new IllegalArgumentException(
          "an answer without a response code: '" + agentAnswer + "'");
    }
    return new DnsAnswer(
        outcome, words[1], Arrays.stream(words, 2, words.length).map(IpAddresses::parse).toList());
  }

  @Override
  public String toString() {
    return outcome != Outcome.REACHED
        ? outcome.toString().toLowerCase(java.util.Locale.ROOT)
        : rcode
            + (addresses.isEmpty()
                ? ""
                : " " + addresses.stream().map(IpAddresses::format).toList());
  }
}
