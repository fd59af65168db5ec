package dev.egress.daemon.server;

import dev.egress.daemon.service.EventHub;
import dev.egress.daemon.wire.EventJson;
import dev.egress.daemon.wire.Json;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subscription: events wait in a bounded queue and one thread writes them to the connection. A
 * subscriber that reads too slowly fills the queue; then the queued events are dropped, the
 * connection gets an {@code overflow} event saying how many were lost (if the connection takes it)
 * and is closed, at the latest {@link #OVERFLOW_GRACE_MILLIS} ms later, so that a reader that never
 * reads costs a bounded queue and nothing more.
 */
final class Subscriber implements EventHub.Sink {
  private static final Logger log = LoggerFactory.getLogger(Subscriber.class);

  /** How long a dropped subscriber may take to receive its overflow event. */
  static final long OVERFLOW_GRACE_MILLIS = 1000;

  private static final byte[] END = new byte[0];

  private final SocketChannel channel;
  private final BlockingQueue<byte[]> queue;
  private final ScheduledExecutorService timer;
  private final Clock clock;
  private boolean overflowed;
  private boolean ended;

  /**
   * @param capacity how many events may wait
   */
  Subscriber(SocketChannel channel, int capacity, ScheduledExecutorService timer, Clock clock) {
    this.channel = channel;
    // One more place than events, for the overflow event or the end.
    this.queue = new ArrayBlockingQueue<>(capacity + 1);
    this.timer = timer;
    this.clock = clock;
  }

  @Override
  public synchronized boolean offer(byte[] line) {
    if (overflowed || ended) {
      return false;
    }
    if (queue.remainingCapacity() > 1) {
      queue.add(line);
      return true;
    }
    overflowed = true;
    List<byte[]> lost = new ArrayList<>();
    queue.drainTo(lost);
    queue.add(Json.event(EventJson.overflow(clock.instant(), lost.size() + 1L)));
    log.warn("a subscriber read too slowly; dropped it after losing {} events", lost.size() + 1);
    timer.schedule(this::close, OVERFLOW_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    return false;
  }

  /** Ends the subscription: the writer stops after what is queued (an overflow event included). */
  synchronized void end() {
    if (!ended) {
      ended = true;
      queue.offer(END); // there is always room: offer keeps one place free
    }
  }

  /**
   * Writes queued lines, {@code first} first, until the subscription ends, overflows or the
   * connection fails; then closes the connection. Blocks the calling thread meanwhile.
   */
  void writeUntilEnd(byte[] first) {
    try {
      Connection.write(channel, first);
      while (true) {
        byte[] line = queue.take();
        if (line == END) {
          return;
        }
        Connection.write(channel, line);
        synchronized (this) {
          if (overflowed && queue.isEmpty()) {
            return; // the overflow event was the last line
          }
        }
      }
    } catch (IOException e) {
      log.debug("subscriber connection ended: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      close();
    }
  }

  private void close() {
    try {
      channel.close(); // also wakes a writer blocked on a peer that does not read
    } catch (IOException e) {
      log.debug("closing a subscriber: {}", e.toString());
    }
  }
}
