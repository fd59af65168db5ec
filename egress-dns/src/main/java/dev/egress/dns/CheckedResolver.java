package dev.egress.dns;

import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * A dnsjava {@link Resolver} that fails the responses its check rejects, with the check's
 * exception, so that a lookup sees a typed failure where dnsjava's {@link
 * org.xbill.DNS.lookup.LookupSession} would report only a response code in text. Inside an {@link
 * org.xbill.DNS.ExtendedResolver} the failure also makes it try the next server. Thread-safe as the
 * wrapped resolver is.
 */
final class CheckedResolver extends ForwardingResolver {
  private final Function<Message, Optional<IOException>> check;

  private CheckedResolver(Resolver wrapped, Function<Message, Optional<IOException>> check) {
    super(wrapped);
    this.check = check;
  }

  /** {@code resolver}, failing a REFUSED response with {@link RefusedException}. */
  static Resolver refusalsFailing(Resolver resolver) {
    return new CheckedResolver(
        resolver,
        response ->
            response.getRcode() == Rcode.REFUSED
                ? Optional.of(new RefusedException())
                : Optional.empty());
  }

  /**
   * {@code validating}, failing a bogus answer (SERVFAIL carrying the validator's reason) with
   * {@link DnssecBogusException} instead of letting it look like an ordinary SERVFAIL.
   */
  static Resolver bogusFailing(ValidatingResolver validating) {
    validating.setAddReasonToAdditional(true);
    return new CheckedResolver(validating, CheckedResolver::bogusReason);
  }

  private static Optional<IOException> bogusReason(Message response) {
    if (response.getRcode() == Rcode.SERVFAIL) {
      for (Record record : response.getSection(Section.ADDITIONAL)) {
        if (record.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS
            && record instanceof TXTRecord txt) {
          return Optional.of(new DnssecBogusException(String.join(" ", txt.getStrings())));
        }
      }
    }
    return Optional.empty();
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    return wrapped
        .sendAsync(query, executor)
        .thenCompose(
            response ->
                check
                    .apply(response)
                    .<CompletionStage<Message>>map(
                        failure -> CompletableFuture.failedFuture(new CompletionException(failure)))
                    .orElseGet(() -> CompletableFuture.completedFuture(response)));
  }
}
