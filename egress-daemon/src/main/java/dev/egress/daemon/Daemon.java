package dev.egress.daemon;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.server.SocketServer;
import dev.egress.daemon.service.Counters;
import dev.egress.daemon.service.EgressService;
import dev.egress.daemon.service.EventHub;
import dev.egress.daemon.service.HostedEnforcer;
import dev.egress.daemon.service.PolicyDirectory;
import dev.egress.daemon.service.StateFile;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running egressd: its hosted enforcer, the service over it, the socket, and the timers that
 * re-read policies and check health.
 *
 * <p>Start order: the host is made ready and the state file's attachments are taken over before the
 * socket exists, so the first client sees them; nothing is removed until a client reconciles.
 * {@link #close} stops serving first, then closes the enforcer, whose rules stay in place.
 */
final class Daemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  private final EgressService service;
  private final SocketServer server;
  private final ScheduledExecutorService maintenance;
  private final ScheduledExecutorService timer;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CountDownLatch closed = new CountDownLatch(1);

  private Daemon(
      EgressService service,
      SocketServer server,
      ScheduledExecutorService maintenance,
      ScheduledExecutorService timer) {
    this.service = service;
    this.server = server;
    this.maintenance = maintenance;
    this.timer = timer;
  }

  /**
   * Starts a daemon.
   *
   * @param hosting builds the enforcer to host, given where its events go
   * @throws IOException if the state file cannot be read or the socket cannot be created; what was
   *     started is stopped again (the enforcer's rules stay)
   */
  static Daemon start(
      DaemonConfig config, Function<Consumer<ObjectNode>, HostedEnforcer> hosting, Clock clock)
      throws IOException {
    EventHub events = new EventHub();
    Counters counters = new Counters();
    HostedEnforcer host = hosting.apply(events::publish);
    EgressService service =
        new EgressService(
            host,
            new PolicyDirectory(config.policyDirectory()),
            new StateFile(config.stateFile()),
            events,
            counters,
            clock);
    ScheduledExecutorService maintenance = singleThread("egressd-maintenance");
    ScheduledExecutorService timer = singleThread("egressd-timer");
    try {
      service.start();
      SocketServer server = SocketServer.start(config, service, events, counters, timer, clock);
      Daemon daemon = new Daemon(service, server, maintenance, timer);
      every(maintenance, config.healthCheckPeriod(), service::checkHealth);
      every(maintenance, config.policyReloadPeriod(), service::reloadPolicies);
      log.info(
          "egressd {} serving {} with {} containers attached",
          EgressService.VERSION,
          config.socket(),
          service.attachmentCount());
      return daemon;
    } catch (IOException | RuntimeException e) {
      maintenance.shutdownNow();
      timer.shutdownNow();
      service.close();
      throw e;
    }
  }

  /**
   * Re-reads the policy files now, on the maintenance thread (what SIGHUP does).
   *
   * @return done when the re-read has run
   */
  Future<?> reloadPolicies() {
    return maintenance.submit(service::reloadPolicies);
  }

  /** Blocks until {@link #close} has run. */
  void awaitClose() throws InterruptedException {
    closed.await();
  }

  /**
   * Stops serving (socket removed, connections closed), stops the timers and closes the enforcer:
   * every attached container keeps its rules. Idempotent.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    server.close(Duration.ofSeconds(10));
    maintenance.shutdownNow();
    timer.shutdownNow();
    try {
      maintenance.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    service.close();
    log.info("egressd stopped; attached containers keep their rules");
    closed.countDown();
  }

  private static void every(ScheduledExecutorService executor, Duration period, Runnable task) {
    if (period.isZero()) {
      return;
    }
    long millis = period.toMillis();
    executor.scheduleWithFixedDelay(
        () -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            log.error("periodic task failed", e); // and runs again next time
          }
        },
        millis,
        millis,
        TimeUnit.MILLISECONDS);
  }

  private static ScheduledExecutorService singleThread(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, name);
          thread.setDaemon(true);
          return thread;
        });
  }
}
