package dev.egress.dns;

import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;
import org.xbill.DNS.hosts.HostsFileParser;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;
import org.xbill.DNS.lookup.ServerFailedException;

/**
 * The dnsjava side of {@link DnsNameResolver}: asks for a name's A or AAAA records through a {@link
 * LookupSession} (which follows CNAME chains and, when configured, reads a hosts file first), drops
 * the addresses in {@link UnusableAddress} and logs each, and turns every outcome into an {@link
 * Answer}. Also builds the dnsjava resolver chain the builder's settings describe: one server,
 * several tried in turn, or a given resolver, optionally behind DNSSEC validation.
 *
 * <p>Thread-safe; {@link #query} never blocks and its stage never completes exceptionally.
 */
final class DnsjavaUpstream implements Upstream {
  private static final Logger log = LoggerFactory.getLogger(DnsjavaUpstream.class);

  private final LookupSession session;
  private final Clock clock;

  /**
   * @param resolver where queries go (see {@link #forServers}, {@link #validating})
   * @param executor where dnsjava completes lookups
   * @param hostsFile a hosts file answered first, or null for none
   * @param clock the clock failures are dated on
   */
  DnsjavaUpstream(Resolver resolver, Executor executor, @Nullable Path hostsFile, Clock clock) {
    LookupSession.LookupSessionBuilder builder =
        LookupSession.builder().resolver(resolver).executor(executor).clearCaches();
    if (hostsFile != null) {
      builder.hostsFileParser(new HostsFileParser(hostsFile));
    }
    this.session = builder.build();
    this.clock = clock;
  }

  @Override
  public CompletionStage<Answer> query(HostName name, AddressFamily family) {
    int type = family == AddressFamily.IPV4 ? Type.A : Type.AAAA;
    CompletableFuture<LookupResult> lookup;
    try {
      lookup = session.lookupAsync(absolute(name), type).toCompletableFuture();
    } catch (RuntimeException e) {
      lookup = CompletableFuture.failedFuture(e);
    }
    return lookup.handle(
        (result, error) -> error == null ? found(name, result, type) : failed(error, family));
  }

  /** {@code api.example.com} as {@code api.example.com.}: never through a search path. */
  private static Name absolute(HostName name) {
    try {
      return Name.fromString(name.ascii() + ".");
    } catch (TextParseException e) {
      throw new IllegalArgumentException(
          "'" + name + "' is not a valid DNS name: " + e.getMessage(), e);
    }
  }

  private static Answer found(HostName name, LookupResult result, int type) {
    Set<InetAddress> addresses = new HashSet<>();
    long minTtl = Long.MAX_VALUE;
    for (Record record : result.getRecords()) {
      if (record.getType() != type
          || !(record instanceof ARecord || record instanceof AAAARecord)) {
        continue;
      }
      // The raw rdata: AAAARecord.getAddress() would turn an IPv4-mapped address into IPv4.
      byte[] raw = record.rdataToWireCanonical();
      Optional<UnusableAddress> unusable = UnusableAddress.classify(raw);
      if (unusable.isPresent()) {
        log.warn(
            "egress-dns: ignoring the unusable address {} in the {} answer for {}: {}",
            record.rdataToString(),
            Type.string(type),
            name,
            unusable.get().describe());
        continue;
      }
      addresses.add(IpAddresses.fromBytes(raw)); // without the host name dnsjava attaches
      minTtl = Math.min(minTtl, record.getTTL());
    }
    return addresses.isEmpty()
        ? new Answer.NoAddresses()
        : new Answer.Addresses(addresses, Duration.ofSeconds(minTtl));
  }

  private Answer failed(Throwable error, AddressFamily family) {
    Throwable cause = unwrap(error);
    if (cause instanceof NoSuchRRSetException) {
      return new Answer.NoAddresses(); // NODATA: the name has no record of this type
    }
    String detail = family.recordType() + ": " + describe(cause);
    return new Answer.Failed(new LookupError(classify(cause), detail, clock.instant()));
  }

  private static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  static FailureKind classify(Throwable cause) {
    if (cause instanceof DnssecBogusException) {
      return FailureKind.DNSSEC_BOGUS;
    }
    if (cause instanceof RefusedException) {
      return FailureKind.REFUSED;
    }
    if (cause instanceof NoSuchDomainException) {
      return FailureKind.NXDOMAIN;
    }
    if (cause instanceof ServerFailedException) {
      return FailureKind.SERVFAIL;
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException || t instanceof SocketTimeoutException) {
        return FailureKind.TIMEOUT;
      }
      String message = t.getMessage();
      if (t instanceof IOException && message != null && message.contains("timed out")) {
        return FailureKind.TIMEOUT;
      }
    }
    if (cause instanceof IOException || cause instanceof UncheckedIOException) {
      return FailureKind.NETWORK_ERROR;
    }
    return FailureKind.UNUSABLE_ANSWER;
  }

  private static String describe(Throwable cause) {
    String message = cause.getMessage();
    return message == null
        ? cause.getClass().getSimpleName()
        : cause.getClass().getSimpleName() + ": " + message;
  }

  /**
   * The system's DNS servers (resolv.conf and the like), read now.
   *
   * @throws IllegalStateException if the system names none
   */
  static List<InetSocketAddress> systemServers() {
    List<InetSocketAddress> system = ResolverConfig.getCurrentConfig().servers();
    if (system.isEmpty()) {
      throw new IllegalStateException(
          "the system has no DNS server configured; name upstream servers with servers(...)");
    }
    return List.copyOf(system);
  }

  /**
   * UDP queries through {@code transport} ({@link DirectUdpResolver}). One server: its resolver
   * with the whole timeout. Several: tried in turn, one attempt each, with an equal share of the
   * timeout, so that all are tried within it. A server that answers REFUSED counts as failed, so
   * the next one is asked; when all refuse, the lookup fails with {@link RefusedException}.
   */
  static Resolver forServers(
      List<InetSocketAddress> servers, Duration timeout, DirectUdpClient transport) {
    if (servers.size() == 1) {
      return forResolver(new DirectUdpResolver(servers.get(0), transport), timeout);
    }
    List<Resolver> resolvers = new ArrayList<>();
    servers.forEach(
        server ->
            resolvers.add(
                CheckedResolver.refusalsFailing(new DirectUdpResolver(server, transport))));
    ExtendedResolver extended = new ExtendedResolver(resolvers);
    extended.setRetries(1);
    extended.setTimeout(timeout); // the whole query; dnsjava 3.6 sets no server's timeout here
    Duration share = timeout.dividedBy(servers.size());
    for (Resolver server : extended.getResolvers()) {
      server.setTimeout(share);
    }
    return extended;
  }

  /**
   * {@code resolver} with {@code timeout}; a REFUSED answer fails with {@link RefusedException}.
   */
  static Resolver forResolver(Resolver resolver, Duration timeout) {
    resolver.setTimeout(timeout);
    return CheckedResolver.refusalsFailing(resolver);
  }

  /**
   * {@code upstream} behind DNSSEC validation with {@code trustAnchors} (DS or DNSKEY records in
   * master-file format): a bogus answer fails with {@link DnssecBogusException}.
   *
   * @throws IllegalStateException if the trust anchors do not parse
   */
  static Resolver validating(
      Resolver upstream, String trustAnchors, Duration timeout, Clock clock) {
    ValidatingResolver validating = new ValidatingResolver(upstream, clock);
    try (InputStream anchors =
        new ByteArrayInputStream(trustAnchors.getBytes(StandardCharsets.UTF_8))) {
      validating.loadTrustAnchors(anchors);
    } catch (IOException e) {
      throw new IllegalStateException("DNSSEC trust anchors do not parse: " + e.getMessage(), e);
    }
    validating.setTimeout(timeout);
    return CheckedResolver.bogusFailing(validating);
  }
}
