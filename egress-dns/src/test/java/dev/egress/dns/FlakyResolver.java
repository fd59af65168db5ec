package dev.egress.dns;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;

/** Passes queries to a real resolver until told to fail them with a given exception. */
final class FlakyResolver extends ForwardingResolver {
  private volatile Exception failure;

  FlakyResolver(Resolver delegate) {
    super(delegate);
  }

  void failWith(Exception failure) {
    this.failure = failure;
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    Exception current = failure;
    return current != null
        ? CompletableFuture.failedFuture(current)
        : wrapped.sendAsync(query, executor);
  }
}
