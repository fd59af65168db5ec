package dev.egress.lab;

/** What a probe saw. */
public enum Outcome {
  /** TCP connected, or a UDP, ICMP or DNS request got its answer. */
  REACHED,
  /** Refused at once: a TCP reset or an ICMP unreachable. */
  REFUSED,
  /** No answer within the probe's timeout. */
  TIMEOUT;

  /** Whether the destination was reached. */
  public boolean reached() {
    return this == REACHED;
  }

  static Outcome parse(String agentAnswer) {
    String word = agentAnswer.split(" ", 2)[0];
    switch (word) {
      case "connected":
      case "answered":
        return REACHED;
      case "refused":
        return REFUSED;
      case "timeout":
        return TIMEOUT;
      default:
        throw new IllegalArgumentException("unexpected probe answer '" + agentAnswer + "'");
    }
  }
}
