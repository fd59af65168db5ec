package dev.egress.dns;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * Wraps dnsjava's {@link ValidatingResolver} so that a bogus answer (SERVFAIL carrying the
 * validator's reason) fails with {@link DnssecBogusException} instead of looking like an ordinary
 * SERVFAIL; status and logs then say why. Thread-safe as the wrapped resolver is.
 */
final class BogusAsFailure implements Resolver {
  private final ValidatingResolver validating;

  BogusAsFailure(ValidatingResolver validating) {
    this.validating = validating;
    validating.setAddReasonToAdditional(true);
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, ForkJoinPool.commonPool());
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    return validating
        .sendAsync(query, executor)
        .thenCompose(
            response -> {
              if (response.getRcode() == Rcode.SERVFAIL) {
                for (Record record : response.getSection(Section.ADDITIONAL)) {
                  if (record.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS
                      && record instanceof TXTRecord txt) {
                    String reason = String.join(" ", txt.getStrings());
                    return CompletableFuture.failedFuture(
                        new CompletionException(new DnssecBogusException(reason)));
                  }
                }
              }
              return CompletableFuture.completedFuture(response);
            });
  }

  @Override
  public void setPort(int port) {
    validating.setPort(port);
  }

  @Override
  public void setTCP(boolean flag) {
    validating.setTCP(flag);
  }

  @Override
  public void setIgnoreTruncation(boolean flag) {
    validating.setIgnoreTruncation(flag);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    validating.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(TSIG key) {
    validating.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    validating.setTimeout(timeout);
  }

  @Override
  public Duration getTimeout() {
    return validating.getTimeout();
  }
}
