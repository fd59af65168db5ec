package dev.egress.testkit.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A dnsjava {@link Resolver} that answers in memory from a script, without sockets: for each
 * queried name, the script says what to answer now (addresses with a TTL, an error code, a timeout
 * or a network error). Pass it where a component takes an upstream resolver; change the script's
 * answers between steps of a test. Counts the queries it gets per name and type.
 *
 * <p>Thread-safe if the script is. Answers complete at once, on the calling thread; a {@link
 * Reply#timeout()} fails at once with {@link TimeoutException}, as an expired query would, so tests
 * need not wait. Configuration setters (port, TCP, EDNS, TSIG, timeout) are ignored.
 */
public final class ScriptedResolver implements Resolver {

  /** What to answer a query with. */
  public sealed interface Reply permits Addresses, ErrorCode, Timeout, NetworkError {

    /** These addresses (A for IPv4, AAAA for IPv6) with {@code ttl}; none means NODATA. */
    static Reply addresses(Duration ttl, List<InetAddress> addresses) {
      return new Addresses(ttl, addresses);
    }

    /** An answer with this DNS error code, such as {@link org.xbill.DNS.Rcode#SERVFAIL}. */
    static Reply errorCode(int rcode) {
      return new ErrorCode(rcode);
    }

    /** No answer: the query fails with {@link TimeoutException}. */
    static Reply timeout() {
      return new Timeout();
    }

    /** The query fails with an {@link IOException}, as when the server is unreachable. */
    static Reply networkError(String message) {
      return new NetworkError(message);
    }
  }

  /**
   * Addresses with their TTL.
   *
   * @param ttl the TTL of every record
   * @param addresses the addresses; an empty list answers NODATA
   */
  public record Addresses(Duration ttl, List<InetAddress> addresses) implements Reply {
    public Addresses {
      if (ttl.isNegative()) {
        throw new IllegalArgumentException("TTL must not be negative: " + ttl);
      }
      addresses = List.copyOf(addresses);
    }
  }

  /**
   * An error code.
   *
   * @param rcode a DNS response code other than NOERROR
   */
  public record ErrorCode(int rcode) implements Reply {
    public ErrorCode {
      if (rcode <= 0 || rcode > 0xfff) {
        throw new IllegalArgumentException("not a DNS error code: " + rcode);
      }
    }
  }

  /** No answer at all. */
  public record Timeout() implements Reply {}

  /**
   * A transport failure.
   *
   * @param message the message of the {@link IOException}
   */
  public record NetworkError(String message) implements Reply {
    public NetworkError {
      Objects.requireNonNull(message, "message");
    }
  }

  private final BiFunction<Name, Integer, Reply> script;
  private final AtomicInteger total = new AtomicInteger();
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

  /** Answers each query with what {@code script} returns for its (absolute, lower-case) name. */
  public ScriptedResolver(Function<Name, Reply> script) {
    this((name, type) -> script.apply(name));
    Objects.requireNonNull(script, "script");
  }

  /**
   * Answers each query with what {@code script} returns for its (absolute, lower-case) name and its
   * type (a {@link Type} constant): for a server that treats the families differently, such as one
   * that answers A but refuses AAAA.
   */
  public ScriptedResolver(BiFunction<Name, Integer, Reply> script) {
    this.script = Objects.requireNonNull(script, "script");
  }

  /** How many queries arrived in all. */
  public int queries() {
    return total.get();
  }

  /** How many queries of {@code type} (a {@link Type} constant) arrived for {@code name}. */
  public int queries(String name, int type) {
    AtomicInteger count = counts.get(key(absolute(name), type));
    return count == null ? 0 : count.get();
  }

  private static Name absolute(String name) {
    try {
      return Name.fromString(name, Name.root).canonicalize();
    } catch (TextParseException e) {
      throw new IllegalArgumentException("'" + name + "' is not a DNS name: " + e.getMessage(), e);
    }
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, Runnable::run);
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    Record question = query.getQuestion();
    if (question == null) {
      return CompletableFuture.failedFuture(new IOException("query without a question"));
    }
    Name name = question.getName().canonicalize();
    total.incrementAndGet();
    counts
        .computeIfAbsent(key(name, question.getType()), k -> new AtomicInteger())
        .incrementAndGet();
    Reply reply =
        Objects.requireNonNull(script.apply(name, question.getType()), "the script answered null");
    if (reply instanceof Timeout) {
      return CompletableFuture.failedFuture(new TimeoutException("scripted timeout for " + name));
    }
    if (reply instanceof NetworkError networkError) {
      return CompletableFuture.failedFuture(new IOException(networkError.message()));
    }
    Message response = new Message(query.getHeader().getID());
    response.getHeader().setFlag(Flags.QR);
    response.getHeader().setFlag(Flags.RD);
    response.getHeader().setFlag(Flags.RA);
    response.addRecord(question, Section.QUESTION);
    if (reply instanceof ErrorCode errorCode) {
      response.getHeader().setRcode(errorCode.rcode());
      return CompletableFuture.completedFuture(response);
    }
    Addresses addresses = (Addresses) reply;
    long ttl = addresses.ttl().toSeconds();
    for (InetAddress address : addresses.addresses()) {
      boolean ipv4 = address.getAddress().length == 4;
      if (ipv4 && question.getType() == Type.A) {
        response.addRecord(
            new ARecord(question.getName(), DClass.IN, ttl, address), Section.ANSWER);
      } else if (!ipv4 && question.getType() == Type.AAAA) {
        response.addRecord(
            new AAAARecord(question.getName(), DClass.IN, ttl, address), Section.ANSWER);
      }
    }
    return CompletableFuture.completedFuture(response);
  }

  private static String key(Name name, int type) {
    return name + "/" + type;
  }

  @Override
  public void setPort(int port) {}

  @Override
  public void setTCP(boolean flag) {}

  @Override
  public void setIgnoreTruncation(boolean flag) {}

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {}

  @Override
  public void setTSIGKey(TSIG key) {}

  @Override
  public void setTimeout(Duration timeout) {}
}
