package dev.egress.dns;

import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * An {@link Upstream} the test controls, without sockets: each family is answered at once with the
 * answer set for it, or, when none is set, the query is held until the test answers it (in any
 * order, or never). Counts queries per family. Thread-safe.
 */
final class FakeUpstream implements Upstream {

  /** A query the cache sent that waits for the test's answer. */
  record Held(HostName name, AddressFamily family, CompletableFuture<Answer> reply) {
    void answer(Answer answer) {
      reply.complete(answer);
    }
  }

  private final Map<AddressFamily, Answer> answers = new EnumMap<>(AddressFamily.class);
  private final List<Held> held = new CopyOnWriteArrayList<>();
  private final Map<AddressFamily, AtomicInteger> counts = new EnumMap<>(AddressFamily.class);

  FakeUpstream() {
    for (AddressFamily family : AddressFamily.values()) {
      counts.put(family, new AtomicInteger());
    }
  }

  @Override
  public CompletionStage<Answer> query(HostName name, AddressFamily family) {
    counts.get(family).incrementAndGet();
    Answer answer;
    synchronized (answers) {
      answer = answers.get(family);
    }
    if (answer != null) {
      return CompletableFuture.completedFuture(answer);
    }
    Held query = new Held(name, family, new CompletableFuture<>());
    held.add(query);
    return query.reply();
  }

  /** Answers {@code family} with {@code answer} from now on, at once. */
  FakeUpstream answer(AddressFamily family, Answer answer) {
    synchronized (answers) {
      answers.put(family, answer);
    }
    return this;
  }

  /** Answers both families from {@code literals}: IPv4 ones as A, IPv6 ones as AAAA. */
  FakeUpstream answer(Duration ttl, String... literals) {
    return answer(AddressFamily.IPV4, addresses(ttl, AddressFamily.IPV4, literals))
        .answer(AddressFamily.IPV6, addresses(ttl, AddressFamily.IPV6, literals));
  }

  /** Holds the queries of both families from now on, until the test answers them. */
  FakeUpstream hold() {
    synchronized (answers) {
      answers.clear();
    }
    return this;
  }

  /** The held queries not answered yet, oldest first. */
  List<Held> held() {
    return held.stream().filter(query -> !query.reply().isDone()).toList();
  }

  int queries(AddressFamily family) {
    return counts.get(family).get();
  }

  /** {@code literals} of {@code family} with {@code ttl}; none answers NODATA. */
  static Answer addresses(Duration ttl, AddressFamily family, String... literals) {
    var addresses =
        Arrays.stream(literals)
            .map(IpAddresses::parse)
            .filter(a -> IpAddresses.isIpv6(a) == (family == AddressFamily.IPV6))
            .collect(Collectors.toSet());
    return addresses.isEmpty() ? new Answer.NoAddresses() : new Answer.Addresses(addresses, ttl);
  }

  static Answer failed(FailureKind kind, Instant at) {
    return new Answer.Failed(new LookupError(kind, "scripted " + kind, at));
  }
}
