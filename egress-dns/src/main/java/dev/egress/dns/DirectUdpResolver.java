package dev.egress.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.WireParseException;

/**
 * A dnsjava {@link Resolver} for one server whose UDP queries go through a {@link DirectUdpClient}
 * (sent on the asking thread, answered on the client's receiving thread, issue 13). Everything else
 * is dnsjava's {@link SimpleResolver} for the same server, which also holds the settings: EDNS as
 * set there (dnsjava's default: version 0, a 1,232-byte payload; DNSSEC validation adds the DO
 * flag), the timeout, TCP when it is set or when the UDP answer is truncated, TSIG and zone
 * transfers.
 *
 * <p>An answer counts only if it parses and answers the question asked (same name, type and class);
 * otherwise the query fails with {@link WireParseException}, as dnsjava's own resolver fails it.
 * The ID is the client's to check.
 */
final class DirectUdpResolver implements Resolver {
  /** What a DNS server may send over UDP to a query without EDNS (RFC 1035). */
  private static final int PLAIN_UDP_SIZE = 512;

  private final SimpleResolver settings;
  private final SimpleResolver tcp;
  private final DirectUdpClient udp;

  DirectUdpResolver(InetSocketAddress server, DirectUdpClient udp) {
    this.settings = new SimpleResolver(server);
    this.tcp = new SimpleResolver(server);
    tcp.setTCP(true);
    this.udp = udp;
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    if (settings.getTCP() || settings.getTSIGKey() != null || isZoneTransfer(query)) {
      return settings.sendAsync(query, executor);
    }
    Message asked = query.clone();
    OPTRecord settingsEdns = settings.getEDNS();
    if (settingsEdns != null && asked.getOPT() == null) {
      asked.addRecord(settingsEdns, Section.ADDITIONAL);
    }
    OPTRecord edns = asked.getOPT(); // the size the server is told is the size read
    int maxSize = edns == null ? PLAIN_UDP_SIZE : Math.max(edns.getPayloadSize(), PLAIN_UDP_SIZE);
    // On the executor, as dnsjava's resolver continues: inline when the resolver's lookups complete
    // where they are received, on the pool when DNSSEC validation follows (DnsNameResolver).
    return udp.exchange(
            settings.getAddress(),
            asked.getHeader().getID(),
            asked.toWire(),
            maxSize,
            settings.getTimeout())
        .thenComposeAsync(wire -> answer(query, wire, executor), executor);
  }

  private CompletionStage<Message> answer(Message query, byte[] wire, Executor executor) {
    Message answer;
    try {
      answer = new Message(wire);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(
          new WireParseException(
              "the answer from " + settings.getAddress() + " does not parse: " + e.getMessage()));
    }
    Record asked = query.getQuestion();
    Record answered = answer.getQuestion();
    if (asked != null
        && (answered == null
            || !answered.getName().equals(asked.getName())
            || answered.getType() != asked.getType()
            || answered.getDClass() != asked.getDClass())) {
      return CompletableFuture.failedFuture(
          new WireParseException(
              "the answer from "
                  + settings.getAddress()
                  + " is for "
                  + (answered == null ? "no question" : answered.toString())
                  + ", not for "
                  + asked));
    }
    if (answer.getHeader().getFlag(Flags.TC) && !settings.getIgnoreTruncation()) {
      return tcp.sendAsync(query, executor); // the whole answer did not fit in a datagram
    }
    return CompletableFuture.completedFuture(answer);
  }

  private static boolean isZoneTransfer(Message query) {
    Record question = query.getQuestion();
    return question != null && (question.getType() == Type.AXFR || question.getType() == Type.IXFR);
  }

  @Override
  public void setPort(int port) {
    settings.setPort(port);
    tcp.setPort(port);
  }

  @Override
  public void setTCP(boolean flag) {
    settings.setTCP(flag);
  }

  @Override
  public void setIgnoreTruncation(boolean flag) {
    settings.setIgnoreTruncation(flag);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    settings.setEDNS(version, payloadSize, flags, options);
    tcp.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(@Nullable TSIG key) {
    settings.setTSIGKey(key);
    tcp.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    settings.setTimeout(timeout);
    tcp.setTimeout(timeout);
  }

  @Override
  public Duration getTimeout() {
    return settings.getTimeout();
  }

  @Override
  public String toString() {
    return "DirectUdpResolver [" + settings.getAddress() + "]";
  }
}
