package dev.egress.dns;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TSIG;

/** Passes queries to a real resolver until told to fail them with a given exception. */
final class FlakyResolver implements Resolver {
  private final Resolver delegate;
  private volatile Exception failure;

  FlakyResolver(Resolver delegate) {
    this.delegate = delegate;
  }

  void failWith(Exception failure) {
    this.failure = failure;
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, Runnable::run);
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    Exception current = failure;
    return current != null
        ? CompletableFuture.failedFuture(current)
        : delegate.sendAsync(query, executor);
  }

  @Override
  public void setPort(int port) {
    delegate.setPort(port);
  }

  @Override
  public void setTCP(boolean flag) {
    delegate.setTCP(flag);
  }

  @Override
  public void setIgnoreTruncation(boolean flag) {
    delegate.setIgnoreTruncation(flag);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    delegate.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(TSIG key) {
    delegate.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    delegate.setTimeout(timeout);
  }
}
