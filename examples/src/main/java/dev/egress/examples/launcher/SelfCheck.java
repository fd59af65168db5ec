package dev.egress.examples.launcher;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A check, run inside a freshly attached container through {@code container exec}, that the
 * enforcer really enforces: a TCP connect to {@code denied} must fail and one to {@code allowed}
 * must succeed. A denied connect that succeeds is an enforcement failure; an allowed one that fails
 * means the check proves nothing (the container may have no network at all). Either way the
 * container is stopped and never handed out.
 *
 * @param denied an address and port every group's policy denies
 * @param allowed an address and port every group's policy allows by address (not by host name, so
 *     that the check needs no DNS)
 * @param command the command that connects, exiting 0 when the connection opened
 */
public record SelfCheck(Probe denied, Probe allowed, ProbeCommand command) {
  public SelfCheck {
    Objects.requireNonNull(denied, "denied");
    Objects.requireNonNull(allowed, "allowed");
    Objects.requireNonNull(command, "command");
  }

  /** A check with {@link ProbeCommand#netcat()}. */
  public static SelfCheck of(Probe denied, Probe allowed) {
    return new SelfCheck(denied, allowed, ProbeCommand.netcat());
  }

  /**
   * Why the probes do not fit {@code policy} (as {@link EgressPolicy#permits} decides it), or null
   * when they do. A check whose "denied" probe the policy allows would raise a false alarm; one
   * whose "allowed" probe it denies would fail every launch.
   */
  @Nullable String mismatch(EgressPolicy policy, @Nullable InetAddress gateway) {
    if (policy.permits(denied.flow(), gateway, Resolutions.none())) {
      return "self-check destination " + denied + " is allowed by the policy; pick one it denies";
    }
    if (!policy.permits(allowed.flow(), gateway, Resolutions.none())) {
      return "self-check destination "
          + allowed
          + " is not allowed by address in the policy;"
          + " pick one an 'allow ADDRESS' or 'allow gateway' line names";
    }
    return null;
  }

  /** A TCP destination. */
  public record Probe(InetAddress address, int port) {
    public Probe {
      Objects.requireNonNull(address, "address");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port " + port + " is outside 1-65535");
      }
    }

    Flow flow() {
      return Flow.tcp(address, port);
    }

    @Override
    public String toString() {
      String host = IpAddresses.format(address);
      return (IpAddresses.isIpv6(address) ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** The command line, run in the container, that opens a TCP connection and exits 0 if it did. */
  @FunctionalInterface
  public interface ProbeCommand {
    List<String> connect(InetAddress address, int port);

    /** {@code nc -z -w 3 ADDRESS PORT}: busybox-based images have it. */
    static ProbeCommand netcat() {
      return (address, port) ->
          List.of("nc", "-z", "-w", "3", IpAddresses.format(address), Integer.toString(port));
    }

    /**
     * A Node.js one-liner with a 3 s timeout, for images without {@code nc} such as NanoClaw's
     * ({@code node:*-slim}).
     */
    static ProbeCommand node() {
      return (address, port) ->
          List.of(
              "node",
              "-e",
              "const s=require('net').connect({host:process.argv[1],port:+process.argv[2],"
                  + "timeout:3000});s.on('connect',()=>process.exit(0));"
                  + "s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1))",
              IpAddresses.format(address),
              Integer.toString(port));
    }
  }
}
