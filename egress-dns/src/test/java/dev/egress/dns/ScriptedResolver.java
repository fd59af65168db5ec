package dev.egress.dns;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;

/**
 * An upstream that answers at once, in memory, from a script: for each queried name, what to
 * answer now. Counts queries. No sockets.
 */
public final class ScriptedResolver implements Resolver {

  /** What to answer: addresses with a TTL, or a failure. */
  public sealed interface Reply permits Addresses, Failure {}

  public record Addresses(List<InetAddress> addresses, long ttlSeconds) implements Reply {}

  public record Failure(FailureKind kind) implements Reply {}

  private final Function<Name, Reply> script;
  private final AtomicInteger queries = new AtomicInteger();

  public ScriptedResolver(Function<Name, Reply> script) {
    this.script = script;
  }

  public int queries() {
    return queries.get();
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, Runnable::run);
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    queries.incrementAndGet();
    Record question = query.getQuestion();
    Reply reply = script.apply(question.getName());
    Message response = new Message(query.getHeader().getID());
    response.getHeader().setFlag(Flags.QR);
    response.getHeader().setFlag(Flags.RD);
    response.getHeader().setFlag(Flags.RA);
    response.addRecord(question, Section.QUESTION);
    if (reply instanceof Failure) {
      switch (((Failure) reply).kind()) {
        case TIMEOUT:
          return CompletableFuture.failedFuture(new TimeoutException("scripted timeout"));
        case NETWORK_ERROR:
          return CompletableFuture.failedFuture(new java.io.IOException("scripted network error"));
        case NXDOMAIN:
          response.getHeader().setRcode(Rcode.NXDOMAIN);
          break;
        case EMPTY_ANSWER:
          break;
        default:
          response.getHeader().setRcode(Rcode.SERVFAIL);
      }
      return CompletableFuture.completedFuture(response);
    }
    Addresses addresses = (Addresses) reply;
    for (InetAddress address : addresses.addresses()) {
      boolean v4 = address.getAddress().length == 4;
      if (v4 && question.getType() == org.xbill.DNS.Type.A) {
        response.addRecord(
            new ARecord(question.getName(), DClass.IN, addresses.ttlSeconds(), address), Section.ANSWER);
      } else if (!v4 && question.getType() == org.xbill.DNS.Type.AAAA) {
        response.addRecord(
            new AAAARecord(question.getName(), DClass.IN, addresses.ttlSeconds(), address),
            Section.ANSWER);
      }
    }
    return CompletableFuture.completedFuture(response);
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
