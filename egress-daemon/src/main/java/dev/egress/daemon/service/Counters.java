package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.wire.Json;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The daemon's counters as {@code status} reports them: totals since the daemon started (requests
 * answered, containers attached and detached, error answers), and how many connections and
 * subscribers are open now. Thread-safe.
 */
public final class Counters {
  final AtomicLong requests = new AtomicLong();
  final AtomicLong attaches = new AtomicLong();
  final AtomicLong detaches = new AtomicLong();
  final AtomicLong failures = new AtomicLong();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger subscribers = new AtomicInteger();

  /** A request was answered; {@code failed} when with an error. */
  public void answered(boolean failed) {
    requests.incrementAndGet();
    if (failed) {
      failures.incrementAndGet();
    }
  }

  /** A connection opened ({@code +1}) or closed ({@code -1}). */
  public void connections(int delta) {
    connections.addAndGet(delta);
  }

  /** A subscription started ({@code +1}) or ended ({@code -1}). */
  public void subscribers(int delta) {
    subscribers.addAndGet(delta);
  }

  /** How many connections are open now. */
  public int openConnections() {
    return connections.get();
  }

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.put("requests", requests.get());
    json.put("attaches", attaches.get());
    json.put("detaches", detaches.get());
    json.put("failures", failures.get());
    json.put("connections", connections.get());
    json.put("subscribers", subscribers.get());
    return json;
  }
}
