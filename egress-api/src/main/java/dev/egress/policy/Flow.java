package dev.egress.policy;

import java.net.InetAddress;

/** A connection a container tries to open: protocol, destination address and destination port. */
public record Flow(Protocol protocol, InetAddress destination, int port) {
  public Flow {
    java.util.Objects.requireNonNull(protocol, "protocol");
    java.util.Objects.requireNonNull(destination, "destination");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is out of range 1-65535");
    }
  }

  public static Flow tcp(InetAddress destination, int port) {
    return new Flow(Protocol.TCP, destination, port);
  }

  public static Flow udp(InetAddress destination, int port) {
    return new Flow(Protocol.UDP, destination, port);
  }

  @Override
  public String toString() {
    String address = IpAddresses.format(destination);
    return protocol.keyword()
        + " "
        + (IpAddresses.isIpv6(destination) ? "[" + address + "]" : address)
        + ":"
        + port;
  }
}
