package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class FakeNameResolverTest {
  private static final HostName API = HostName.of("api.egress.test");
  private static final HostName CDN = HostName.of("cdn.egress.test");
  private static final InetAddress A = IpAddresses.parse("192.0.2.1");
  private static final InetAddress B = IpAddresses.parse("192.0.2.2");
  private static final InetAddress V6 = IpAddresses.parse("2001:db8::1");

  private final FakeNameResolver resolver = new FakeNameResolver();

  private record Change(Resolutions current, Set<HostName> changed) {}

  @Test
  void resolve_answersWhatWasSet_andNothingForOtherNames() throws Exception {
    resolver.set(API, A, V6);

    Resolutions answer = resolver.resolve(Set.of(API, CDN));

    assertEquals(Set.of(A, V6), answer.addressesOf(API));
    assertEquals(Set.of(), answer.addressesOf(CDN));
    assertFalse(answer.addresses().containsKey(CDN));
  }

  @Test
  void set_acceptsNamesAsText_andRepeatedAddresses() throws Exception {
    resolver.set("API.egress.test.", A, A);
    assertEquals(Set.of(A), resolver.resolve(Set.of(API)).addressesOf(API));
  }

  @Test
  void set_withAnInvalidName_throws() {
    assertThrows(IllegalArgumentException.class, () -> resolver.set("bad_name.test", A));
  }

  @Test
  void fail_makesANameResolveToNothing() throws Exception {
    resolver.set(API, A);

    resolver.fail(API);

    assertEquals(Set.of(), resolver.resolve(Set.of(API)).addressesOf(API));
  }

  @Test
  void subscribers_hearChangesToTheirNames_withAllTheirNamesCurrentAnswers() {
    resolver.set(CDN, B);
    List<Change> changes = new ArrayList<>();
    resolver.subscribe(
        Set.of(API, CDN), (current, changed) -> changes.add(new Change(current, changed)));

    resolver.set(API, A);

    assertEquals(
        List.of(new Change(new Resolutions(Map.of(API, Set.of(A), CDN, Set.of(B))), Set.of(API))),
        changes);
  }

  @Test
  void subscribers_doNotHearRepeatedAnswers_orOtherNames() {
    resolver.set(API, A, B);
    List<Change> changes = new ArrayList<>();
    resolver.subscribe(
        Set.of(API), (current, changed) -> changes.add(new Change(current, changed)));

    resolver.set(API, B, A);
    resolver.set(CDN, A);
    resolver.fail(HostName.of("never.egress.test"));

    assertEquals(List.of(), changes);
  }

  @Test
  void fail_notifiesSubscribers_whenTheNameHadAddresses() {
    resolver.set(API, A);
    List<Change> changes = new ArrayList<>();
    resolver.subscribe(
        Set.of(API), (current, changed) -> changes.add(new Change(current, changed)));

    resolver.fail(API);
    resolver.fail(API);

    assertEquals(List.of(new Change(Resolutions.none(), Set.of(API))), changes);
  }

  @Test
  void closedSubscriptions_hearNothing_andClosingTwiceIsHarmless() {
    List<Change> changes = new ArrayList<>();
    NameResolver.Subscription subscription =
        resolver.subscribe(
            Set.of(API), (current, changed) -> changes.add(new Change(current, changed)));
    assertEquals(1, resolver.subscriptionCount());

    subscription.close();
    subscription.close();
    resolver.set(API, A);

    assertEquals(List.of(), changes);
    assertEquals(0, resolver.subscriptionCount());
  }

  @Test
  void aSubscriberMayCallBackIntoTheResolver() {
    List<Resolutions> seen = new ArrayList<>();
    resolver.subscribe(Set.of(API), (current, changed) -> seen.add(resolver.current(Set.of(API))));

    resolver.set(API, A);

    assertEquals(Set.of(A), seen.get(0).addressesOf(API));
  }

  @Test
  void queries_areCountedPerName_andPerCall() throws Exception {
    resolver.resolve(Set.of(API, CDN));
    resolver.resolve(Set.of(API));

    assertEquals(2, resolver.queries(API));
    assertEquals(1, resolver.queries("cdn.egress.test"));
    assertEquals(0, resolver.queries("other.egress.test"));
    assertEquals(2, resolver.resolveCalls());
  }

  @Test
  void latency_delaysResolve_andIsInterruptible() throws Exception {
    resolver.setLatency(Duration.ofSeconds(30));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<Resolutions> answer = pool.submit(() -> resolver.resolve(Set.of(API)));
      Thread.sleep(50);
      assertFalse(answer.isDone(), "resolve returned before its latency");
      pool.shutdownNow();
      java.util.concurrent.ExecutionException e =
          assertThrows(java.util.concurrent.ExecutionException.class, answer::get);
      assertTrue(e.getCause() instanceof InterruptedException, e.toString());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void latency_mustNotBeNegative() {
    assertThrows(IllegalArgumentException.class, () -> resolver.setLatency(Duration.ofMillis(-1)));
  }

  @Test
  void concurrentSets_reachSubscribersInTheOrderTheyHappened() throws Exception {
    List<Set<InetAddress>> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    resolver.subscribe(Set.of(API), (current, changed) -> seen.add(current.addressesOf(API)));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> work = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        work.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 50; i++) {
                    resolver.set(API, IpAddresses.parse("192.0.2." + (thread * 50 + i)));
                  }
                }));
      }
      for (Future<?> future : work) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(
        resolver.current(Set.of(API)).addressesOf(API),
        seen.get(seen.size() - 1),
        "the last notification carries the final answer");
  }
}
