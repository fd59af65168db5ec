package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.wire.Json;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

/**
 * Sends every event to every subscriber: each gets the event's line offered, never waited for. A
 * subscriber whose queue is full refuses the offer and is dropped here; it then closes itself.
 * Thread-safe; {@link #publish} never blocks, so an enforcer's thread is never held up by a reader.
 */
public final class EventHub {
  /** One subscriber's bounded queue. */
  public interface Sink {
    /**
     * Queues {@code line} without blocking.
     *
     * @return false if the queue is full (or the sink is closed): the hub then drops the sink
     */
    boolean offer(byte[] line);
  }

  private final Set<Sink> sinks = new CopyOnWriteArraySet<>();

  /** Events published from now on are offered to {@code sink}. */
  public void register(Sink sink) {
    sinks.add(sink);
  }

  /** Stops offering events to {@code sink}; idempotent. */
  public void unregister(Sink sink) {
    sinks.remove(sink);
  }

  /** How many sinks are registered. */
  public int size() {
    return sinks.size();
  }

  /** Offers {@code event} to every sink, dropping those that refuse it. */
  public void publish(ObjectNode event) {
    if (sinks.isEmpty()) {
      return;
    }
    byte[] line = Json.event(event);
    for (Sink sink : sinks) {
      if (!sink.offer(line)) {
        sinks.remove(sink);
      }
    }
  }
}
