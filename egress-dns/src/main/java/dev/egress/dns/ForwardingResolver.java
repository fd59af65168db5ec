package dev.egress.dns;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ForkJoinPool;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TSIG;

/**
 * A dnsjava {@link Resolver} that passes its configuration to another one; subclasses decide what
 * {@link #sendAsync(Message, java.util.concurrent.Executor)} does. Thread-safe as the wrapped
 * resolver is.
 */
abstract class ForwardingResolver implements Resolver {
  /** The resolver that gets the configuration and, usually, the queries. */
  protected final Resolver wrapped;

  protected ForwardingResolver(Resolver wrapped) {
    this.wrapped = wrapped;
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, ForkJoinPool.commonPool());
  }

  @Override
  public void setPort(int port) {
    wrapped.setPort(port);
  }

  @Override
  public void setTCP(boolean flag) {
    wrapped.setTCP(flag);
  }

  @Override
  public void setIgnoreTruncation(boolean flag) {
    wrapped.setIgnoreTruncation(flag);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    wrapped.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(TSIG key) {
    wrapped.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    wrapped.setTimeout(timeout);
  }

  @Override
  public Duration getTimeout() {
    return wrapped.getTimeout();
  }
}
