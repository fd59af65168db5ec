package dev.egress.dns;

import dev.egress.policy.HostName;
import java.util.concurrent.CompletionStage;

/**
 * Where the {@link AnswerCache} gets answers: one address family of one name per call. Besides its
 * clock and scheduler, the cache's only seam to the outside; {@link DnsjavaUpstream} asks DNS
 * servers, tests script answers without sockets.
 *
 * <p>Thread-safe and non-blocking: the answer arrives through the returned stage, on any thread.
 * The stage should complete within the cache's query timeout and never exceptionally (failures are
 * {@link Answer.Failed} answers), but the cache relies on neither: it counts a family still
 * unanswered at the timeout as {@link FailureKind#TIMEOUT}, ignores what arrives later, and counts
 * a stage that fails as {@link FailureKind#UNUSABLE_ANSWER}.
 */
interface Upstream {

  /** Asks for {@code family}'s addresses of {@code name} (never a wildcard). */
  CompletionStage<Answer> query(HostName name, AddressFamily family);
}
