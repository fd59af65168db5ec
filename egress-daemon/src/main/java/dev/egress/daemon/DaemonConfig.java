package dev.egress.daemon;

import dev.egress.nftables.NftGuard;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What one egressd runs with, as {@link ConfigText} reads it from the configuration file. Every
 * field is checked there with a positioned message; the constructor checks the invariants again, so
 * that no invalid configuration exists however it was made.
 *
 * @param backend the packet filter to enforce with
 * @param managedNetworks the networks only managed containers use: the guard rejects their traffic
 *     until a container is attached; empty only when the file says {@code managed-network
 *     unsafe-none}
 * @param guardInterfaces bridges whose unattached traffic the guard also rejects (nftables: any
 *     number; pf: at most one)
 * @param guardLog whether the guard's rejections are logged
 * @param policyDirectory where {@code NAME.policy} files live
 * @param socket the Unix socket clients connect to
 * @param socketMode who may open the socket file
 * @param socketOwner the socket file's owner; null to keep the daemon's user
 * @param socketGroup the socket file's group; null to keep the daemon's group
 * @param allowUsers peers running as one of these users may send commands
 * @param allowGroups peers running with one of these (effective, primary) groups may send commands
 * @param stateFile where the attachments are kept across restarts of the daemon
 * @param auditFile where the audit trail's records are written, or null for no audit trail
 * @param resolver how host names of policies are resolved
 * @param healthCheckPeriod how often the host and the rule sets are checked; zero for never
 * @param policyReloadPeriod how often policy files are re-read; zero for only on SIGHUP
 * @param limits bounds on what clients may cost
 */
public record DaemonConfig(
    Backend backend,
    List<IpNetwork> managedNetworks,
    List<String> guardInterfaces,
    boolean guardLog,
    Path policyDirectory,
    Path socket,
    SocketMode socketMode,
    @Nullable UserPrincipal socketOwner,
    @Nullable GroupPrincipal socketGroup,
    Set<UserPrincipal> allowUsers,
    Set<GroupPrincipal> allowGroups,
    Path stateFile,
    @Nullable Path auditFile,
    Resolver resolver,
    Duration healthCheckPeriod,
    Duration policyReloadPeriod,
    Limits limits) {

  /** The longest socket path: {@code sun_path} holds 104 bytes on macOS, 108 on Linux. */
  public static final int MAX_SOCKET_PATH_BYTES = 100;

  public DaemonConfig {
    Objects.requireNonNull(backend, "backend");
    managedNetworks = List.copyOf(managedNetworks);
    guardInterfaces = List.copyOf(guardInterfaces);
    if (backend == Backend.PF && guardInterfaces.size() > 1) {
      throw new IllegalArgumentException("pf guards at most one bridge, got " + guardInterfaces);
    }
    for (Path path : List.of(policyDirectory, socket, stateFile)) {
      if (!path.isAbsolute()) {
        throw new IllegalArgumentException("paths must be absolute, got " + path);
      }
    }
    if (auditFile != null && !auditFile.isAbsolute()) {
      throw new IllegalArgumentException("the audit file must be an absolute path: " + auditFile);
    }
    Objects.requireNonNull(socketMode, "socketMode");
    allowUsers = Set.copyOf(allowUsers);
    allowGroups = Set.copyOf(allowGroups);
    if (allowUsers.isEmpty() && allowGroups.isEmpty()) {
      throw new IllegalArgumentException("no user or group may use the daemon");
    }
    Objects.requireNonNull(resolver, "resolver");
    requireNotNegative(healthCheckPeriod, "healthCheckPeriod");
    requireNotNegative(policyReloadPeriod, "policyReloadPeriod");
    Objects.requireNonNull(limits, "limits");
  }

  private static void requireNotNegative(Duration duration, String name) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative, got " + duration);
    }
  }

  /** Whether a guard closes the managed networks (the file did not say {@code unsafe-none}). */
  public boolean guarded() {
    return !managedNetworks.isEmpty();
  }

  /**
   * The nftables guard this configuration asks for: the one egressd's enforcer runs with, and the
   * one {@code egressctl --config} keeps.
   */
  public NftGuard nftGuard() {
    return guarded() ? new NftGuard(guardInterfaces, managedNetworks, guardLog) : NftGuard.none();
  }

  /**
   * The pf parent anchor this configuration asks for, its guard included: the one egressd's
   * enforcer loads, and the one {@code egressctl --config} keeps.
   */
  public ParentAnchor pfParent() {
    ParentAnchor parent = ParentAnchor.defaults();
    if (!guarded()) {
      return parent;
    }
    return parent.guarding(
        new ManagedNetwork(
            managedNetworks, guardInterfaces.isEmpty() ? null : guardInterfaces.get(0)),
        guardLog);
  }

  /** The packet filters egressd can enforce with, as the configuration file names them. */
  public enum Backend {
    NFTABLES,
    PF;

    /** pf on macOS, nftables elsewhere, as egressctl chooses. */
    public static Backend forOs(String osName) {
      return osName.toLowerCase(Locale.ROOT).startsWith("mac") ? PF : NFTABLES;
    }

    /** The name in the configuration file and the protocol: {@code nftables} or {@code pf}. */
    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Who may open the socket file, besides the peer check every connection gets: the owner only, or
   * the owner and the group. Never others.
   */
  public enum SocketMode {
    OWNER("rw-------"),
    OWNER_AND_GROUP("rw-rw----");

    private final Set<PosixFilePermission> permissions;

    SocketMode(String permissions) {
      this.permissions = Set.copyOf(PosixFilePermissions.fromString(permissions));
    }

    public Set<PosixFilePermission> permissions() {
      return permissions;
    }

    /** Octal, as the configuration file writes it: {@code 0600} or {@code 0660}. */
    @Override
    public String toString() {
      return this == OWNER ? "0600" : "0660";
    }
  }

  /**
   * The resolver's settings; see {@code DnsNameResolver.Builder} for what each means.
   *
   * @param servers the DNS servers to ask (port 53); empty for the system's
   * @param dnsFilter where egressd's DNS filter listens (port 53, UDP and TCP) for containers whose
   *     policy says {@code dns filter}; null for no filter (such policies are then refused)
   */
  public record Resolver(
      List<InetAddress> servers,
      Duration queryTimeout,
      Duration ttlFloor,
      Duration ttlCeiling,
      Duration grace,
      @Nullable InetAddress dnsFilter) {
    public Resolver {
      servers = List.copyOf(servers);
      Objects.requireNonNull(queryTimeout, "queryTimeout");
      Objects.requireNonNull(ttlFloor, "ttlFloor");
      Objects.requireNonNull(ttlCeiling, "ttlCeiling");
      Objects.requireNonNull(grace, "grace");
      if (ttlCeiling.compareTo(ttlFloor) < 0) {
        throw new IllegalArgumentException(
            "the TTL ceiling " + ttlCeiling + " is below the floor " + ttlFloor);
      }
    }
  }

  /**
   * What clients may cost the daemon.
   *
   * @param maxLineBytes the longest request line, in bytes without its newline
   * @param maxConnections how many connections are served at once; more are closed at once
   * @param subscriberQueue how many events may wait for a subscriber before it is dropped
   */
  public record Limits(int maxLineBytes, int maxConnections, int subscriberQueue) {
    public Limits {
      if (maxLineBytes < 1024 || maxConnections < 1 || subscriberQueue < 1) {
        throw new IllegalArgumentException(
            "limits out of range: maxLineBytes "
                + maxLineBytes
                + ", maxConnections "
                + maxConnections
                + ", subscriberQueue "
                + subscriberQueue);
      }
    }
  }
}
