package dev.egress.dns.filter;

import dev.egress.dns.AddressFamily;
import dev.egress.dns.DnsNameResolver;
import dev.egress.dns.LookupError;
import dev.egress.dns.NameAnswer;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.DnsVerdict;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.FilteredAttachment;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The filter's decision for one query, without sockets: who asked (by source address), whether the
 * policy allows the name, what to answer, and the grant that must be in place before the answer is
 * sent. Thread-safe; {@link #respond} blocks at most for twice the resolver's query timeout (see
 * {@link DnsNameResolver#answer}) plus one grant.
 */
final class QueryHandler {
  private static final Logger log = LoggerFactory.getLogger(QueryHandler.class);
  private static final int UDP_MIN_PAYLOAD = 512;
  private static final int UDP_MAX_PAYLOAD = 1232;
  private static final int TCP_MAX_MESSAGE = 65535;

  private final FilteredAttachments attachments;
  private final DnsNameResolver resolver;
  private final Clock clock;
  private final Duration grace;
  private final BurstCounter bursts;
  private final EgressListener listener;

  QueryHandler(
      FilteredAttachments attachments,
      DnsNameResolver resolver,
      Clock clock,
      Duration grace,
      BurstCounter bursts,
      EgressListener listener) {
    this.attachments = attachments;
    this.resolver = resolver;
    this.clock = clock;
    this.grace = grace;
    this.bursts = bursts;
    this.listener = listener;
  }

  /**
   * The response to {@code query} from {@code source}, or null when nothing is to be sent (fewer
   * than 12 bytes, or a response rather than a query: answering those could make two servers talk
   * in a loop).
   */
  byte @Nullable [] respond(InetAddress source, byte[] query, Transport transport)
      throws InterruptedException {
    Header header;
    try {
      header = new Header(query);
    } catch (IOException e) {
      return null;
    }
    if (header.getFlag(Flags.QR)) {
      return null;
    }
    Optional<FilteredAttachment> found = attachments.bySource(source);
    if (found.isEmpty()) {
      // Not a filtered container (or a forged source): no event, since nobody is known to blame.
      return reply(header, null, Rcode.REFUSED, List.of(), UDP_MIN_PAYLOAD);
    }
    FilteredAttachment attachment = found.get();
    Message message;
    try {
      message = new Message(query);
    } catch (IOException e) {
      emit(attachment.id(), "", "", DnsVerdict.MALFORMED, Set.of());
      return reply(header, null, Rcode.FORMERR, List.of(), UDP_MIN_PAYLOAD);
    }
    int limit = limit(message, transport);
    Record question = message.getQuestion();
    if (header.getOpcode() != Opcode.QUERY) {
      emit(attachment.id(), "", "", DnsVerdict.MALFORMED, Set.of());
      return reply(header, null, Rcode.NOTIMP, List.of(), limit);
    }
    if (header.getCount(Section.QUESTION) != 1 || question == null) {
      emit(attachment.id(), "", "", DnsVerdict.MALFORMED, Set.of());
      return reply(header, null, Rcode.FORMERR, List.of(), limit);
    }
    return answer(attachment, header, question, limit);
  }

  private byte[] answer(FilteredAttachment attachment, Header header, Record question, int limit)
      throws InterruptedException {
    ContainerId id = attachment.id();
    String name = presentation(question);
    String type = Type.string(question.getType());
    Optional<HostName> asked = HostName.ofQuery(name);
    SortedSet<HostName> covering =
        asked.map(attachment.policy()::namesCovering).orElseGet(TreeSet::new);
    if (asked.isEmpty() || covering.isEmpty()) {
      emit(id, name, type, DnsVerdict.REFUSED_NAME, Set.of());
      return reply(header, question, Rcode.NXDOMAIN, List.of(), limit);
    }
    HostName allowed = asked.get();
    countBursts(id, covering, allowed);
    Optional<AddressFamily> family = familyOf(question);
    if (family.isEmpty()) {
      emit(id, name, type, DnsVerdict.REFUSED_TYPE, Set.of());
      return reply(header, question, Rcode.NOERROR, List.of(), limit);
    }
    NameAnswer upstream = resolver.answer(allowed, family.get());
    return upstream.match(
        new NameAnswer.Cases<byte[]>() {
          @Override
          public byte[] addresses(Set<InetAddress> addresses, Instant expires) {
            return release(id, header, question, allowed, addresses, expires, limit);
          }

          @Override
          public byte[] noSuchName() {
            emit(id, name, type, DnsVerdict.NO_SUCH_NAME, Set.of());
            return reply(header, question, Rcode.NXDOMAIN, List.of(), limit);
          }

          @Override
          public byte[] failed(LookupError error) {
            log.debug("{} asked {} {}: upstream failed: {}", id, name, type, error);
            emit(id, name, type, DnsVerdict.UPSTREAM_FAILED, Set.of());
            return reply(header, question, Rcode.SERVFAIL, List.of(), limit);
          }
        });
  }

  /**
   * The answer with {@code addresses}, once they are granted: at once when every one stays granted
   * for at least half the grace beyond the answer's expiry, otherwise after a grant until expiry
   * plus grace. SERVFAIL when the grant fails.
   */
  private byte[] release(
      ContainerId id,
      Header header,
      Record question,
      HostName asked,
      Set<InetAddress> addresses,
      Instant expires,
      int limit) {
    String name = presentation(question);
    String type = Type.string(question.getType());
    if (addresses.isEmpty()) {
      emit(id, name, type, DnsVerdict.ANSWERED, Set.of());
      return reply(header, question, Rcode.NOERROR, List.of(), limit);
    }
    Instant now = clock.instant();
    Optional<Instant> until = attachments.grantedUntil(id, asked, addresses);
    Set<InetAddress> granted = Set.of();
    if (until.isEmpty() || until.get().isBefore(expires.plus(grace.dividedBy(2)))) {
      try {
        attachments.grant(id, asked, addresses, expires.plus(grace));
        granted = addresses;
      } catch (EgressException e) {
        log.warn(
            "{} asked {} {}: the grant failed, answering SERVFAIL: {}",
            id,
            name,
            type,
            e.getMessage());
        emit(id, name, type, DnsVerdict.GRANT_FAILED, Set.of());
        return reply(header, question, Rcode.SERVFAIL, List.of(), limit);
      }
    }
    long ttl = Math.max(0, Duration.between(now, expires).toSeconds());
    List<Record> records =
        addresses.stream()
            .sorted(Comparator.comparing(IpAddresses::format))
            .map(address -> record(question, address, ttl))
            .toList();
    emit(id, name, type, DnsVerdict.ANSWERED, granted);
    return reply(header, question, Rcode.NOERROR, records, limit);
  }

  private void countBursts(ContainerId id, SortedSet<HostName> covering, HostName asked) {
    Instant now = clock.instant();
    for (HostName policyName : covering) {
      if (policyName.isWildcard()) {
        int count = bursts.record(id, policyName, asked, now);
        if (count > 0) {
          publish(new EgressEvent.WildcardBurst(now, id, policyName, count, bursts.window()));
        }
      }
    }
  }

  /** The asked name as DNS prints it (non-LDH bytes escaped), without the final dot. */
  private static String presentation(Record question) {
    String text = question.getName().toString();
    return text.length() > 1 && text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
  }

  /** A or AAAA; empty for any other type (CNAME included: answers are flattened) or class. */
  private static Optional<AddressFamily> familyOf(Record question) {
    if (question.getDClass() != DClass.IN) {
      return Optional.empty();
    }
    if (question.getType() == Type.A) {
      return Optional.of(AddressFamily.IPV4);
    }
    return question.getType() == Type.AAAA ? Optional.of(AddressFamily.IPV6) : Optional.empty();
  }

  private static Record record(Record question, InetAddress address, long ttl) {
    return address instanceof Inet4Address v4
        ? new ARecord(question.getName(), DClass.IN, ttl, v4)
        : new AAAARecord(question.getName(), DClass.IN, ttl, (Inet6Address) address);
  }

  private static int limit(Message query, Transport transport) {
    if (transport == Transport.TCP) {
      return TCP_MAX_MESSAGE;
    }
    OPTRecord opt = query.getOPT();
    return opt == null
        ? UDP_MIN_PAYLOAD
        : Math.max(UDP_MIN_PAYLOAD, Math.min(UDP_MAX_PAYLOAD, opt.getPayloadSize()));
  }

  /** The reply to {@code query}'s header: same id, opcode and RD; QR and RA set. */
  private static byte[] reply(
      Header query, @Nullable Record question, int rcode, List<Record> answers, int limit) {
    Message response = new Message(query.getID());
    Header header = response.getHeader();
    header.setFlag(Flags.QR);
    header.setFlag(Flags.RA);
    if (query.getFlag(Flags.RD)) {
      header.setFlag(Flags.RD);
    }
    header.setOpcode(query.getOpcode());
    header.setRcode(rcode);
    if (question != null) {
      response.addRecord(question, Section.QUESTION);
    }
    answers.forEach(record -> response.addRecord(record, Section.ANSWER));
    return response.toWire(limit);
  }

  private void emit(
      ContainerId id, String name, String type, DnsVerdict verdict, Set<InetAddress> granted) {
    publish(new EgressEvent.DnsQueried(clock.instant(), id, name, type, verdict, granted));
  }

  private void publish(EgressEvent event) {
    try {
      listener.onEvent(event);
    } catch (RuntimeException e) {
      log.warn("egress listener failed on {}", event, e);
    }
  }
}
