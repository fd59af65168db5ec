package dev.egress.daemon;

import dev.egress.daemon.DaemonConfig.Backend;
import dev.egress.daemon.DaemonConfig.Limits;
import dev.egress.daemon.DaemonConfig.Resolver;
import dev.egress.daemon.DaemonConfig.SocketMode;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicySyntaxException.Problem;
import dev.egress.policy.TextFile;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The configuration file format. One setting a line, {@code NAME VALUE...}; {@code #} starts a
 * comment; tokens are separated by spaces or tabs; every setting at most once:
 *
 * <p>Why one class of this size: the format is one grammar, and each setting's parsing, default,
 * range check and message sit together in one switch arm, with the writer ({@code write}) beside
 * it; split by setting, a new setting would touch several files.
 *
 * <pre>
 * backend nftables                                # or pf; default: pf on macOS, nftables elsewhere
 * managed-network 10.213.0.0/24 fd00:10:213::/64  # required (or: managed-network unsafe-none)
 * guard-interfaces docker0                        # bridges the guard closes too (pf: one)
 * guard-log on                                    # on | off
 * policy-directory /etc/egressd/policies
 * socket /run/egressd/egressd.sock
 * socket-mode 0660                                # 0660 | 0600
 * socket-owner root
 * socket-group egressd
 * allow-users alice                               # names or numeric ids
 * allow-groups egressd
 * state-file /run/egressd/state.json
 * audit-file /var/log/egressd/audit.jsonl        # or off (default)
 * resolver-servers 127.0.0.53                     # default: the system's
 * resolver-query-timeout 3s
 * resolver-ttl-floor 10s
 * resolver-ttl-ceiling 1h
 * resolver-grace 5m
 * dns-filter 172.17.0.1                           # or off (the default): nftables only
 * health-check-period 30s                         # or off
 * policy-reload-period 10s                        # or off (SIGHUP still reloads)
 * max-line-bytes 1MiB
 * max-connections 128
 * subscriber-queue 1000
 * </pre>
 *
 * <p>Parsing is strict, as the policy format's is: an unknown setting, a setting given twice, a
 * value out of range, an unknown user or group, a relative path each get a {@code FILE:LINE:COLUMN:
 * message} problem, and every problem is reported at once. Users and groups are looked up when the
 * file is read, on the machine that reads it.
 */
public final class ConfigText {
  /** The configuration file egressd reads unless told another. */
  public static final Path DEFAULT_FILE = Path.of("/etc/egressd/egressd.conf");

  /** The largest configuration file: 64 KiB, ample for the settings above and their comments. */
  public static final int MAX_SIZE = 64 * 1024;

  private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");
  private static final Pattern SIZE = Pattern.compile("([0-9]{1,9})(KiB|MiB)?");
  private static final Pattern ACCOUNT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}");

  private ConfigText() {}

  /**
   * Reads and parses a configuration file (at most {@link #MAX_SIZE} bytes, a regular file, UTF-8).
   *
   * @throws FileSystemException if the file cannot be read, naming it and the reason
   * @throws ConfigException naming the file, line and column of each problem
   */
  public static DaemonConfig read(Path file) throws FileSystemException, ConfigException {
    return parse(TextFile.read(file, MAX_SIZE, "configuration file"), file.toString());
  }

  /**
   * Parses configuration text with this machine's defaults and users.
   *
   * @param source a label for messages, such as the file name
   * @throws ConfigException naming the line and column of each problem
   */
  public static DaemonConfig parse(String text, String source) throws ConfigException {
    return parse(
        text,
        source,
        System.getProperty("os.name", ""),
        FileSystems.getDefault().getUserPrincipalLookupService());
  }

  static DaemonConfig parse(
      String text, String source, String osName, UserPrincipalLookupService accounts)
      throws ConfigException {
    return new Parser(source, Backend.forOs(osName), accounts).parse(text);
  }

  /**
   * Every setting of {@code config}, defaults included, in the file format: what {@code egressd
   * --check-config} prints. It parses back to an equal configuration on the same machine.
   */
  public static String format(DaemonConfig config) {
    StringBuilder out = new StringBuilder();
    line(out, "backend", config.backend().toString());
    line(
        out,
        "managed-network",
        config.guarded() ? join(config.managedNetworks()) : UNSAFE_NO_GUARD);
    if (!config.guardInterfaces().isEmpty()) {
      line(out, "guard-interfaces", String.join(" ", config.guardInterfaces()));
    }
    line(out, "guard-log", config.guardLog() ? "on" : "off");
    line(out, "policy-directory", config.policyDirectory().toString());
    line(out, "socket", config.socket().toString());
    line(out, "socket-mode", config.socketMode().toString());
    UserPrincipal owner = config.socketOwner();
    if (owner != null) {
      line(out, "socket-owner", owner.getName());
    }
    GroupPrincipal group = config.socketGroup();
    if (group != null) {
      line(out, "socket-group", group.getName());
    }
    if (!config.allowUsers().isEmpty()) {
      line(out, "allow-users", names(config.allowUsers()));
    }
    if (!config.allowGroups().isEmpty()) {
      line(out, "allow-groups", names(config.allowGroups()));
    }
    line(out, "state-file", config.stateFile().toString());
    Path auditFile = config.auditFile();
    line(out, "audit-file", auditFile == null ? "off" : auditFile.toString());
    Resolver resolver = config.resolver();
    if (!resolver.servers().isEmpty()) {
      line(
          out,
          "resolver-servers",
          resolver.servers().stream().map(IpAddresses::format).collect(Collectors.joining(" ")));
    }
    line(out, "resolver-query-timeout", duration(resolver.queryTimeout()));
    line(out, "resolver-ttl-floor", duration(resolver.ttlFloor()));
    line(out, "resolver-ttl-ceiling", duration(resolver.ttlCeiling()));
    line(out, "resolver-grace", duration(resolver.grace()));
    if (resolver.dnsFilter() != null) {
      line(out, "dns-filter", IpAddresses.format(resolver.dnsFilter()));
    }
    line(out, "health-check-period", duration(config.healthCheckPeriod()));
    line(out, "policy-reload-period", duration(config.policyReloadPeriod()));
    line(out, "max-line-bytes", Integer.toString(config.limits().maxLineBytes()));
    line(out, "max-connections", Integer.toString(config.limits().maxConnections()));
    line(out, "subscriber-queue", Integer.toString(config.limits().subscriberQueue()));
    return out.toString();
  }

  private static final String UNSAFE_NO_GUARD = "unsafe-none";

  private static void line(StringBuilder out, String name, String value) {
    out.append(name).append(' ').append(value).append('\n');
  }

  private static String join(List<IpNetwork> networks) {
    return networks.stream().map(IpNetwork::toString).collect(Collectors.joining(" "));
  }

  private static String names(Set<? extends UserPrincipal> principals) {
    return principals.stream()
        .map(UserPrincipal::getName)
        .sorted()
        .collect(Collectors.joining(" "));
  }

  /** A period as the file writes it: {@code off} for zero. */
  private static String duration(Duration duration) {
    return duration.isZero() ? "off" : amount(duration);
  }

  private static String amount(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    long millis = duration.toMillis();
    if (millis % 3_600_000 == 0) {
      return millis / 3_600_000 + "h";
    }
    if (millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  private record Token(String text, int column) {}

  private static final class Parser {
    private static final List<String> SETTINGS =
        List.of(
            "backend",
            "managed-network",
            "guard-interfaces",
            "guard-log",
            "policy-directory",
            "socket",
            "socket-mode",
            "socket-owner",
            "socket-group",
            "allow-users",
            "allow-groups",
            "state-file",
            "audit-file",
            "resolver-servers",
            "resolver-query-timeout",
            "resolver-ttl-floor",
            "resolver-ttl-ceiling",
            "resolver-grace",
            "dns-filter",
            "health-check-period",
            "policy-reload-period",
            "max-line-bytes",
            "max-connections",
            "subscriber-queue");

    private final String source;
    private final UserPrincipalLookupService accounts;
    private final List<Problem> problems = new ArrayList<>();
    private final Map<String, Integer> seenOn = new HashMap<>();
    private int lineNumber;

    private Backend backend;
    private @Nullable List<IpNetwork> managedNetworks;
    private int managedNetworkLine;
    private List<Token> guardInterfaces = List.of();
    private boolean guardLog = true;
    private Path policyDirectory = Path.of("/etc/egressd/policies");
    private Path socket;
    private SocketMode socketMode = SocketMode.OWNER_AND_GROUP;
    private @Nullable UserPrincipal socketOwner;
    private @Nullable GroupPrincipal socketGroup;
    private final Set<UserPrincipal> allowUsers = new LinkedHashSet<>();
    private final Set<GroupPrincipal> allowGroups = new LinkedHashSet<>();
    private Path stateFile;
    private @Nullable Path auditFile;
    private List<InetAddress> resolverServers = List.of();
    private @Nullable InetAddress dnsFilter;
    private Duration queryTimeout = Duration.ofSeconds(3);
    private Duration ttlFloor = Duration.ofSeconds(10);
    private Duration ttlCeiling = Duration.ofHours(1);
    private Duration grace = Duration.ofMinutes(5);
    private Duration healthCheckPeriod = Duration.ofSeconds(30);
    private Duration policyReloadPeriod = Duration.ofSeconds(10);
    private int maxLineBytes = 1 << 20;
    private int maxConnections = 128;
    private int subscriberQueue = 1000;

    Parser(String source, Backend osBackend, UserPrincipalLookupService accounts) {
      this.source = source;
      this.accounts = accounts;
      this.backend = osBackend;
      Path runtime = Path.of(osBackend == Backend.PF ? "/var/run/egressd" : "/run/egressd");
      this.socket = runtime.resolve("egressd.sock");
      this.stateFile = runtime.resolve("state.json");
    }

    DaemonConfig parse(String text) throws ConfigException {
      if (text.length() > MAX_SIZE) {
        lineNumber = 1;
        problem(1, "the configuration is longer than " + MAX_SIZE + " characters");
        throw new ConfigException(problems);
      }
      String[] lines = text.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        lineNumber = i + 1;
        parseLine(lines[i]);
      }
      checkAcross();
      if (!problems.isEmpty()) {
        throw new ConfigException(problems);
      }
      return new DaemonConfig(
          backend,
          managedNetworks == null ? List.of() : managedNetworks,
          guardInterfaces.stream().map(Token::text).collect(Collectors.toList()),
          guardLog,
          policyDirectory,
          socket,
          socketMode,
          socketOwner,
          socketGroup,
          allowUsers,
          allowGroups,
          stateFile,
          auditFile,
          new Resolver(resolverServers, queryTimeout, ttlFloor, ttlCeiling, grace, dnsFilter),
          healthCheckPeriod,
          policyReloadPeriod,
          new Limits(maxLineBytes, maxConnections, subscriberQueue));
    }

    private void parseLine(String raw) {
      String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
      int hash = line.indexOf('#');
      String content = hash >= 0 ? line.substring(0, hash) : line;
      for (int i = 0; i < content.length(); i++) {
        char c = content.charAt(i);
        if (c != '\t' && (c < 0x20 || c == 0x7f)) {
          problem(i + 1, "unexpected control character " + UserText.character(c));
          return;
        }
      }
      List<Token> tokens = new ArrayList<>();
      Matcher word = Pattern.compile("[^ \t]+").matcher(content);
      while (word.find()) {
        tokens.add(new Token(word.group(), word.start() + 1));
      }
      if (tokens.isEmpty()) {
        return;
      }
      Token name = tokens.get(0);
      List<Token> values = tokens.subList(1, tokens.size());
      if (!SETTINGS.contains(name.text())) {
        problem(name.column(), "unknown setting " + UserText.quote(name.text()) + suggest(name));
        return;
      }
      Integer first = seenOn.putIfAbsent(name.text(), lineNumber);
      if (first != null) {
        problem(name.column(), "'" + name.text() + "' is set twice: first on line " + first);
        return;
      }
      if (values.isEmpty()) {
        problem(
            name.column() + name.text().length(), "'" + name.text() + "' needs a value after it");
        return;
      }
      apply(name.text(), values);
    }

    private void apply(String name, List<Token> values) {
      switch (name) {
        case "backend":
          one(values)
              .ifPresent(
                  value -> {
                    if (value.text().equals("nftables")) {
                      backend = Backend.NFTABLES;
                    } else if (value.text().equals("pf")) {
                      backend = Backend.PF;
                    } else {
                      problem(value, "expected 'nftables' or 'pf'");
                    }
                  });
          break;
        case "managed-network":
          managedNetworkLine = lineNumber;
          managedNetworks = managedNetworks(values);
          break;
        case "guard-interfaces":
          guardInterfaces = List.copyOf(values); // checked once the backend is known
          break;
        case "guard-log":
          one(values).ifPresent(value -> onOff(value).ifPresent(on -> guardLog = on));
          break;
        case "policy-directory":
          one(values).flatMap(this::absolutePath).ifPresent(path -> policyDirectory = path);
          break;
        case "socket":
          one(values)
              .ifPresent(value -> absolutePath(value).ifPresent(path -> socketPath(value, path)));
          break;
        case "socket-mode":
          one(values)
              .ifPresent(
                  value -> {
                    if (value.text().equals("0660")) {
                      socketMode = SocketMode.OWNER_AND_GROUP;
                    } else if (value.text().equals("0600")) {
                      socketMode = SocketMode.OWNER;
                    } else {
                      problem(
                          value,
                          "expected 0660 (owner and group) or 0600 (owner only): others never"
                              + " get access to the socket");
                    }
                  });
          break;
        case "socket-owner":
          one(values).flatMap(this::user).ifPresent(user -> socketOwner = user);
          break;
        case "socket-group":
          one(values).flatMap(this::group).ifPresent(group -> socketGroup = group);
          break;
        case "allow-users":
          values.forEach(value -> user(value).ifPresent(allowUsers::add));
          break;
        case "allow-groups":
          values.forEach(value -> group(value).ifPresent(allowGroups::add));
          break;
        case "state-file":
          one(values).flatMap(this::absolutePath).ifPresent(path -> stateFile = path);
          break;
        case "audit-file":
          one(values)
              .ifPresent(
                  value -> {
                    if (!value.text().equals("off")) {
                      absolutePath(value).ifPresent(path -> auditFile = path);
                    }
                  });
          break;
        case "resolver-servers":
          resolverServers = addresses(values);
          break;
        case "resolver-query-timeout":
          duration(values, false, Duration.ofMillis(100), Duration.ofMinutes(1))
              .ifPresent(d -> queryTimeout = d);
          break;
        case "resolver-ttl-floor":
          duration(values, false, Duration.ofSeconds(1), Duration.ofDays(1))
              .ifPresent(d -> ttlFloor = d);
          break;
        case "resolver-ttl-ceiling":
          duration(values, false, Duration.ofSeconds(1), Duration.ofDays(7))
              .ifPresent(d -> ttlCeiling = d);
          break;
        case "resolver-grace":
          duration(values, true, Duration.ZERO, Duration.ofDays(1)).ifPresent(d -> grace = d);
          break;
        case "dns-filter":
          one(values)
              .filter(value -> !value.text().equals("off"))
              .ifPresent(
                  value -> {
                    List<InetAddress> parsed = addresses(List.of(value));
                    if (parsed.isEmpty()) {
                      return;
                    }
                    InetAddress address = parsed.get(0);
                    // The filter listens there and containers' port 53 is redirected there: an
                    // address that is every interface, no host's or unreachable from containers
                    // would serve other networks or answer no container.
                    if (address.isAnyLocalAddress()
                        || address.isLoopbackAddress()
                        || address.isMulticastAddress()
                        || address.isLinkLocalAddress()) {
                      problem(
                          value,
                          "dns-filter needs one of the host's unicast addresses that containers"
                              + " reach (the bridge's gateway, say), not "
                              + UserText.quote(value.text()));
                      return;
                    }
                    dnsFilter = address;
                  });
          break;
        case "health-check-period":
          duration(values, true, Duration.ofSeconds(1), Duration.ofDays(1))
              .ifPresent(d -> healthCheckPeriod = d);
          break;
        case "policy-reload-period":
          duration(values, true, Duration.ofSeconds(1), Duration.ofDays(1))
              .ifPresent(d -> policyReloadPeriod = d);
          break;
        case "max-line-bytes":
          size(values, 1024, 64 << 20).ifPresent(n -> maxLineBytes = n);
          break;
        case "max-connections":
          size(values, 1, 10_000).ifPresent(n -> maxConnections = n);
          break;
        case "subscriber-queue":
          size(values, 1, 1_000_000).ifPresent(n -> subscriberQueue = n);
          break;
        default:
          throw new AssertionError("setting without a parser: " + name);
      }
    }

    private void checkAcross() {
      lineNumber = Math.max(lineNumber, 1);
      if (managedNetworks == null) {
        problem(
            1,
            1,
            "set managed-network: the networks only managed containers use, which the guard"
                + " closes until a container is attached (or 'managed-network unsafe-none' to run"
                + " without a guard)");
      } else if (backend == Backend.PF && !managedNetworks.isEmpty()) {
        try {
          ManagedNetwork.of(managedNetworks.toArray(IpNetwork[]::new));
        } catch (IllegalArgumentException e) {
          problem(managedNetworkLine, 1, String.valueOf(e.getMessage()));
        }
      }
      checkGuardInterfaces();
      if (allowUsers.isEmpty()
          && allowGroups.isEmpty()
          && !seenOn.containsKey("allow-users")
          && !seenOn.containsKey("allow-groups")) {
        problem(
            1,
            1,
            "set allow-users or allow-groups: otherwise nobody may use the daemon (root neither)");
      }
      if (ttlCeiling.compareTo(ttlFloor) < 0) {
        problem(
            seenOn.getOrDefault("resolver-ttl-ceiling", 1),
            1,
            "resolver-ttl-ceiling is below resolver-ttl-floor");
      }
      if (dnsFilter != null && backend == Backend.PF) {
        problem(
            seenOn.getOrDefault("dns-filter", 1),
            1,
            "dns-filter needs the nftables backend: egressd does not host the filter over pf yet"
                + " (where it could listen on a Mac is open: Apple's DNS proxy holds port 53)");
      }
    }

    /** Interface names as the chosen backend spells them: nftables' rule or pf's. */
    private void checkGuardInterfaces() {
      int line = seenOn.getOrDefault("guard-interfaces", 1);
      if (managedNetworks != null && managedNetworks.isEmpty() && !guardInterfaces.isEmpty()) {
        problem(
            line,
            guardInterfaces.get(0).column(),
            "guard-interfaces needs a managed network: the guard is off with 'unsafe-none'");
        return;
      }
      if (backend == Backend.PF && guardInterfaces.size() > 1) {
        problem(
            line,
            guardInterfaces.get(1).column(),
            "pf guards at most one bridge (the managed network's), got " + guardInterfaces.size());
        return;
      }
      for (Token name : guardInterfaces) {
        try {
          if (backend == Backend.PF) {
            ManagedNetwork.of(IpNetwork.parse("192.0.2.0/24")).onBridge(name.text());
          } else {
            new NftGuard(List.of(name.text()), List.of(), false);
          }
        } catch (IllegalArgumentException e) {
          problem(line, name.column(), String.valueOf(e.getMessage()));
        }
      }
    }

    private @Nullable List<IpNetwork> managedNetworks(List<Token> values) {
      if (values.size() == 1 && values.get(0).text().equals(UNSAFE_NO_GUARD)) {
        return List.of();
      }
      List<IpNetwork> networks = new ArrayList<>();
      for (Token value : values) {
        if (value.text().equals(UNSAFE_NO_GUARD)) {
          problem(value, "'unsafe-none' stands alone: no guard, so no networks either");
          continue;
        }
        try {
          IpNetwork network = IpNetwork.parse(value.text());
          if (network.prefixLength() == 0) {
            problem(value, "a /0 network is every address: name the containers' network");
          } else {
            networks.add(network);
          }
        } catch (IllegalArgumentException e) {
          problem(value, String.valueOf(e.getMessage()));
        }
      }
      return networks.isEmpty() ? null : networks;
    }

    private List<InetAddress> addresses(List<Token> values) {
      List<InetAddress> addresses = new ArrayList<>();
      for (Token value : values) {
        try {
          addresses.add(IpAddresses.parse(value.text()));
        } catch (IllegalArgumentException e) {
          problem(value, String.valueOf(e.getMessage()));
        }
      }
      return addresses;
    }

    private Optional<Token> one(List<Token> values) {
      if (values.size() > 1) {
        problem(
            values.get(1),
            "expected one value, found another: " + UserText.quote(values.get(1).text()));
        return Optional.empty();
      }
      return Optional.of(values.get(0));
    }

    private Optional<Boolean> onOff(Token value) {
      switch (value.text()) {
        case "on":
          return Optional.of(true);
        case "off":
          return Optional.of(false);
        default:
          problem(value, "expected 'on' or 'off', found " + UserText.quote(value.text()));
          return Optional.empty();
      }
    }

    private Optional<Path> absolutePath(Token value) {
      Path path;
      try {
        path = Path.of(value.text());
      } catch (java.nio.file.InvalidPathException e) {
        problem(value, UserText.quote(value.text()) + " is not a path");
        return Optional.empty();
      }
      if (!path.isAbsolute()) {
        problem(value, "expected an absolute path, found " + UserText.quote(value.text()));
        return Optional.empty();
      }
      if (!path.normalize().equals(path)) {
        problem(value, "write the path without '.' or '..' parts: " + path.normalize());
        return Optional.empty();
      }
      return Optional.of(path);
    }

    private void socketPath(Token value, Path path) {
      int bytes = path.toString().getBytes(StandardCharsets.UTF_8).length;
      if (bytes > DaemonConfig.MAX_SOCKET_PATH_BYTES) {
        problem(
            value,
            "the socket path has "
                + bytes
                + " bytes, more than the "
                + DaemonConfig.MAX_SOCKET_PATH_BYTES
                + " a Unix socket address holds");
      } else if (path.getParent() == null || path.getParent().getParent() == null) {
        problem(value, "the socket needs a directory of its own, such as /run/egressd");
      } else {
        socket = path;
      }
    }

    private Optional<UserPrincipal> user(Token value) {
      if (!ACCOUNT.matcher(value.text()).matches()) {
        problem(value, UserText.quote(value.text()) + " is not a user name or id");
        return Optional.empty();
      }
      try {
        return Optional.of(accounts.lookupPrincipalByName(value.text()));
      } catch (UserPrincipalNotFoundException e) {
        problem(value, "no user " + UserText.quote(value.text()) + " on this machine");
      } catch (IOException e) {
        problem(value, "cannot look up user " + UserText.quote(value.text()) + ": " + e);
      }
      return Optional.empty();
    }

    private Optional<GroupPrincipal> group(Token value) {
      if (!ACCOUNT.matcher(value.text()).matches()) {
        problem(value, UserText.quote(value.text()) + " is not a group name or id");
        return Optional.empty();
      }
      try {
        return Optional.of(accounts.lookupPrincipalByGroupName(value.text()));
      } catch (UserPrincipalNotFoundException e) {
        problem(value, "no group " + UserText.quote(value.text()) + " on this machine");
      } catch (IOException e) {
        problem(value, "cannot look up group " + UserText.quote(value.text()) + ": " + e);
      }
      return Optional.empty();
    }

    private Optional<Duration> duration(
        List<Token> values, boolean canBeOff, Duration min, Duration max) {
      return one(values)
          .flatMap(
              value -> {
                if (canBeOff && value.text().equals("off")) {
                  return Optional.of(Duration.ZERO);
                }
                Matcher m = DURATION.matcher(value.text());
                if (!m.matches()) {
                  problem(
                      value,
                      "expected a duration such as 500ms, 30s, 5m or 1h"
                          + (canBeOff ? ", or off" : "")
                          + ", found "
                          + UserText.quote(value.text()));
                  return Optional.empty();
                }
                long amount = Long.parseLong(m.group(1));
                Duration d;
                switch (m.group(2)) {
                  case "ms":
                    d = Duration.ofMillis(amount);
                    break;
                  case "s":
                    d = Duration.ofSeconds(amount);
                    break;
                  case "m":
                    d = Duration.ofMinutes(amount);
                    break;
                  default:
                    d = Duration.ofHours(amount);
                    break;
                }
                if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                  problem(
                      value,
                      "expected between "
                          + amount(min)
                          + " and "
                          + amount(max)
                          + ", found "
                          + value.text());
                  return Optional.empty();
                }
                return Optional.of(d);
              });
    }

    private Optional<Integer> size(List<Token> values, int min, int max) {
      return one(values)
          .flatMap(
              value -> {
                Matcher m = SIZE.matcher(value.text());
                if (!m.matches()) {
                  problem(value, "expected a number, found " + UserText.quote(value.text()));
                  return Optional.empty();
                }
                long n = Long.parseLong(m.group(1));
                if ("KiB".equals(m.group(2))) {
                  n <<= 10;
                } else if ("MiB".equals(m.group(2))) {
                  n <<= 20;
                }
                if (n < min || n > max) {
                  problem(value, "expected " + min + " to " + max + ", found " + value.text());
                  return Optional.empty();
                }
                return Optional.of((int) n);
              });
    }

    /** "; did you mean 'socket'?" for a setting one or two edits away from a known one. */
    private static String suggest(Token name) {
      String best = null;
      int bestDistance = 3;
      for (String setting : SETTINGS) {
        int distance = distance(name.text(), setting);
        if (distance < bestDistance) {
          best = setting;
          bestDistance = distance;
        }
      }
      return best == null ? "" : ": did you mean '" + best + "'?";
    }

    private static int distance(String a, String b) {
      if (Math.abs(a.length() - b.length()) > 2 || a.length() > 40) {
        return Integer.MAX_VALUE;
      }
      int[] previous = new int[b.length() + 1];
      int[] current = new int[b.length() + 1];
      for (int j = 0; j <= b.length(); j++) {
        previous[j] = j;
      }
      for (int i = 1; i <= a.length(); i++) {
        current[0] = i;
        for (int j = 1; j <= b.length(); j++) {
          int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
          current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
        }
        int[] swap = previous;
        previous = current;
        current = swap;
      }
      return previous[b.length()];
    }

    private void problem(Token token, String message) {
      problem(lineNumber, token.column(), message);
    }

    private void problem(int column, String message) {
      problem(lineNumber, column, message);
    }

    private void problem(int line, int column, String message) {
      problems.add(new Problem(source, line, column, message));
    }
  }
}
