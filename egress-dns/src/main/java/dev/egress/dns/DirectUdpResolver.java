package dev.egress.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.WireParseException;

/**
 * A dnsjava {@link org.xbill.DNS.Resolver} for one server whose UDP queries go through a {@link
 * DirectUdpClient} (sent on the asking thread, answered on the client's receiving thread, issue
 * 13). Everything else is dnsjava's {@link SimpleResolver} for the same server, which also holds
 * the settings ({@link ForwardingResolver}): EDNS as set there (dnsjava's default: version 0, a
 * 1,280-byte payload in dnsjava 3.6; DNSSEC validation adds the DO flag), the timeout, TCP when it
 * is set or when the UDP answer is truncated, TSIG and zone transfers.
 *
 * <p>An answer counts only if it parses and answers the question asked (same name, type and class);
 * otherwise the query fails with {@link WireParseException}, as dnsjava's own resolver fails it.
 * The ID is the client's to check. The answer is read up to the payload size the query's EDNS
 * record offers (512 bytes without one) and handled on the executor {@link #sendAsync} is given, as
 * dnsjava's resolver handles it.
 */
final class DirectUdpResolver extends ForwardingResolver {
  /** What a DNS server may send over UDP to a query without EDNS (RFC 1035). */
  private static final int PLAIN_UDP_SIZE = 512;

  private final SimpleResolver settings;
  private final SimpleResolver tcp;
  private final DirectUdpClient udp;

  DirectUdpResolver(InetSocketAddress server, DirectUdpClient udp) {
    this(new SimpleResolver(server), new SimpleResolver(server), udp);
  }

  private DirectUdpResolver(SimpleResolver settings, SimpleResolver tcp, DirectUdpClient udp) {
    super(settings);
    this.settings = settings;
    this.tcp = tcp;
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

  // The settings go to the resolver that holds them (ForwardingResolver); those a TCP retry needs
  // go to the TCP resolver too.

  @Override
  public void setPort(int port) {
    super.setPort(port);
    tcp.setPort(port);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    super.setEDNS(version, payloadSize, flags, options);
    tcp.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(TSIG key) {
    super.setTSIGKey(key);
    tcp.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    super.setTimeout(timeout);
    tcp.setTimeout(timeout);
  }

  @Override
  public String toString() {
    return "DirectUdpResolver [" + settings.getAddress() + "]";
  }
}
