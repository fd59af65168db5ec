package dev.egress.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One output stream of a process, read to its end on a daemon thread of its own (a shared pool
 * could starve one stream while the process blocks on the other's full pipe). Keeps the first
 * {@code limit} bytes and counts the rest.
 */
final class CapturedOutput implements Runnable {
  private final InputStream stream;
  private final int limit;
  private final ByteArrayOutputStream head = new ByteArrayOutputStream();
  private final CountDownLatch done = new CountDownLatch(1);
  private long dropped;
  private @Nullable IOException failure;

  private CapturedOutput(InputStream stream, int limit) {
    this.stream = stream;
    this.limit = limit;
  }

  static CapturedOutput start(InputStream stream, int limit, String threadName) {
    CapturedOutput output = new CapturedOutput(stream, limit);
    Thread reader = new Thread(output, threadName);
    reader.setDaemon(true);
    reader.start();
    return output;
  }

  @Override
  public void run() {
    byte[] buffer = new byte[8192];
    try (stream) {
      int read;
      while ((read = stream.read(buffer)) != -1) {
        synchronized (this) {
          int kept = Math.min(read, limit - head.size());
          head.write(buffer, 0, kept);
          dropped += read - kept;
        }
      }
    } catch (IOException e) {
      synchronized (this) {
        failure = e;
      }
    } finally {
      done.countDown();
    }
  }

  /** Waits until the stream has ended (every writer closed it); false if it has not by then. */
  boolean await(long nanos) throws InterruptedException {
    return done.await(nanos, TimeUnit.NANOSECONDS);
  }

  synchronized String text() {
    return head.toString(StandardCharsets.UTF_8);
  }

  synchronized long dropped() {
    return dropped;
  }

  synchronized @Nullable IOException failure() {
    return failure;
  }
}
