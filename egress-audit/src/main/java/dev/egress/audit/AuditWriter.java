package dev.egress.audit;

import dev.egress.enforcer.ContainerId;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Writes {@link AuditRecord}s to a JSON Lines file without ever blocking the caller: {@link #offer}
 * only takes a token from the container's bucket and puts the record on a bounded queue, and one
 * thread of the writer's own writes the queue to the file.
 *
 * <ul>
 *   <li><b>Size cap.</b> The file never grows beyond {@code maxFileBytes}: before a line would pass
 *       it, the file is renamed {@code FILE.1} (and {@code FILE.1} to {@code FILE.2}, up to {@code
 *       rotatedFiles}; the oldest is deleted), and a new file is begun. The disk holds at most
 *       {@code (rotatedFiles + 1) * maxFileBytes} bytes of audit records.
 *   <li><b>Rate limit.</b> Each container (and, together, every packet that no container is named
 *       for) has a token bucket of {@code burst} records refilled at {@code ratePerSecond}: a
 *       container that floods refused packets fills neither the disk nor the queue that others
 *       share.
 *   <li><b>What was left out is counted.</b> Records refused by the rate limit or a full queue are
 *       counted per container ({@link #dropped}), and a {@link AuditRecord.Dropped} summary is
 *       written at most once per {@code summaryInterval} per container and cause, and at {@link
 *       #close}.
 * </ul>
 *
 * <p>A failure to write (a full disk, a removed directory) loses the records concerned; it is
 * counted ({@link #failures}), and the next record tries again. Thread-safe.
 */
public final class AuditWriter implements AutoCloseable {
  private static final Duration POLL = Duration.ofMillis(200);

  private final Path file;
  private final long maxFileBytes;
  private final int rotatedFiles;
  private final double ratePerSecond;
  private final double burst;
  private final Duration summaryInterval;
  private final Clock clock;
  private final BlockingQueue<AuditRecord> queue;
  private final Thread thread;
  private final Map<Optional<ContainerId>, Bucket> buckets = new HashMap<>();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private volatile boolean closing;

  // Owned by the writer thread.
  private @Nullable OutputStream out;
  private long size;

  private AuditWriter(Builder b) {
    this.file = b.file;
    this.maxFileBytes = b.maxFileBytes;
    this.rotatedFiles = b.rotatedFiles;
    this.ratePerSecond = b.ratePerSecond;
    this.burst = b.burst;
    this.summaryInterval = b.summaryInterval;
    this.clock = b.clock;
    this.queue = new ArrayBlockingQueue<>(b.queueCapacity);
    this.thread = new Thread(this::run, "egress-audit-writer " + file.getFileName());
    thread.setDaemon(true);
  }

  /** A writer of {@code file}, which is created (owner-only where POSIX) or appended to. */
  public static Builder builder(Path file) {
    return new Builder(file);
  }

  /**
   * Queues {@code record} for writing, unless its container's rate limit or a full queue leaves it
   * out (counted). Never blocks.
   *
   * @return whether it was queued
   * @throws IllegalStateException after {@link #close}
   */
  public boolean offer(AuditRecord.Refused record) {
    Objects.requireNonNull(record, "record");
    if (closing) {
      throw new IllegalStateException("the audit writer of " + file + " is closed");
    }
    Instant now = clock.instant();
    Bucket bucket;
    synchronized (buckets) {
      bucket = buckets.computeIfAbsent(Optional.ofNullable(record.container()), k -> new Bucket());
    }
    synchronized (bucket) {
      if (!bucket.take(now)) {
        bucket.drop(AuditRecord.DropCause.RATE_LIMIT, now);
        return false;
      }
      if (!queue.offer(record)) {
        bucket.drop(AuditRecord.DropCause.QUEUE_FULL, now);
        return false;
      }
      return true;
    }
  }

  /**
   * How many records about {@code container} (null: unattributed) were left out so far. A container
   * that never lost one is forgotten once its bucket is full again: 0.
   */
  public long dropped(@Nullable ContainerId container) {
    Bucket bucket;
    synchronized (buckets) {
      bucket = buckets.get(Optional.ofNullable(container));
    }
    if (bucket == null) {
      return 0;
    }
    synchronized (bucket) {
      return bucket.droppedTotal;
    }
  }

  /** How many lines were written, summaries included. */
  public long written() {
    return written.get();
  }

  /** How many lines could not be written. */
  public long failures() {
    return failures.get();
  }

  /**
   * Writes what is queued and the pending drop summaries, then closes the file. Waits for the
   * writer thread; idempotent.
   */
  @Override
  public void close() {
    closing = true;
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private AuditWriter start() {
    thread.start();
    return this;
  }

  private void run() {
    try {
      while (!closing || !queue.isEmpty()) {
        AuditRecord record = queue.poll(POLL.toMillis(), TimeUnit.MILLISECONDS);
        if (record != null) {
          write(record);
          List<AuditRecord> more = new ArrayList<>();
          queue.drainTo(more, 1000);
          more.forEach(this::write);
        }
        if (queue.isEmpty()) {
          flush();
        }
        writeSummaries(clock.instant(), false);
      }
      writeSummaries(clock.instant(), true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      flush();
      closeFile();
    }
  }

  private void writeSummaries(Instant now, boolean all) {
    List<AuditRecord.Dropped> due = new ArrayList<>();
    synchronized (buckets) {
      buckets.forEach(
          (container, bucket) -> {
            synchronized (bucket) {
              due.addAll(
                  bucket.summaries(container.orElse(null), now, all ? null : summaryInterval));
            }
          });
      // A container that never lost a record and whose bucket is full again needs no entry.
      buckets.values().removeIf(bucket -> bucket.idle(now));
    }
    due.forEach(this::write);
  }

  private void write(AuditRecord record) {
    byte[] line = (AuditJson.write(record) + "\n").getBytes(StandardCharsets.UTF_8);
    try {
      if (out == null) {
        open();
      }
      if (size + line.length > maxFileBytes) {
        rotate();
      }
      Objects.requireNonNull(out, "out").write(line);
      size += line.length;
      written.incrementAndGet();
    } catch (IOException | UncheckedIOException e) {
      failures.incrementAndGet();
      closeFile();
    }
  }

  private void open() throws IOException {
    if (!Files.exists(file)) {
      try {
        Files.createFile(
            file,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        Files.createFile(file);
      } catch (FileAlreadyExistsException e) {
        // Created meanwhile: append to it.
      }
    }
    size = Files.size(file);
    out =
        new BufferedOutputStream(
            Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
  }

  private void rotate() throws IOException {
    closeFile();
    if (rotatedFiles == 0) {
      Files.delete(file);
    } else {
      Files.deleteIfExists(rotated(rotatedFiles));
      for (int i = rotatedFiles - 1; i >= 1; i--) {
        if (Files.exists(rotated(i))) {
          Files.move(rotated(i), rotated(i + 1), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      Files.move(file, rotated(1), StandardCopyOption.REPLACE_EXISTING);
    }
    open();
  }

  private Path rotated(int index) {
    return file.resolveSibling(file.getFileName() + "." + index);
  }

  private void flush() {
    if (out != null) {
      try {
        out.flush();
      } catch (IOException e) {
        failures.incrementAndGet();
        closeFile();
      }
    }
  }

  private void closeFile() {
    OutputStream stream = out;
    out = null;
    if (stream != null) {
      try {
        stream.close();
      } catch (IOException e) {
        failures.incrementAndGet();
      }
    }
  }

  /** A container's token bucket and what it left out since its last summaries. */
  private final class Bucket {
    double tokens = burst;
    @Nullable Instant refilled;
    long droppedTotal;
    final Map<AuditRecord.DropCause, Pending> pending = new HashMap<>();

    boolean take(Instant now) {
      if (refilled != null && now.isAfter(refilled)) {
        double seconds = Duration.between(refilled, now).toNanos() / 1e9;
        tokens = Math.min(burst, tokens + seconds * ratePerSecond);
      }
      if (refilled == null || now.isAfter(refilled)) {
        refilled = now;
      }
      if (tokens < 1) {
        return false;
      }
      tokens -= 1;
      return true;
    }

    synchronized boolean idle(Instant now) {
      return droppedTotal == 0
          && refilled != null
          && Duration.between(refilled, now).toNanos() / 1e9 * ratePerSecond + tokens >= burst;
    }

    void drop(AuditRecord.DropCause cause, Instant now) {
      droppedTotal++;
      pending.computeIfAbsent(cause, c -> new Pending(now)).count++;
    }

    /** The summaries due at {@code now} ({@code interval} null: all of them), now cleared. */
    List<AuditRecord.Dropped> summaries(
        @Nullable ContainerId container, Instant now, @Nullable Duration interval) {
      List<AuditRecord.Dropped> due = new ArrayList<>();
      pending
          .entrySet()
          .removeIf(
              entry -> {
                Pending p = entry.getValue();
                if (interval != null && now.isBefore(p.since.plus(interval))) {
                  return false;
                }
                Instant time = now.isBefore(p.since) ? p.since : now;
                due.add(new AuditRecord.Dropped(time, container, entry.getKey(), p.count, p.since));
                return true;
              });
      return due;
    }
  }

  private static final class Pending {
    final Instant since;
    long count;

    Pending(Instant since) {
      this.since = since;
    }
  }

  /** Settings of an {@link AuditWriter}; each setter checks its value at once. */
  public static final class Builder {
    private final Path file;
    private long maxFileBytes = 16L << 20;
    private int rotatedFiles = 3;
    private int queueCapacity = 10_000;
    private double ratePerSecond = 20;
    private double burst = 100;
    private Duration summaryInterval = Duration.ofSeconds(10);
    private Clock clock = Clock.systemUTC();

    private Builder(Path file) {
      this.file = Objects.requireNonNull(file, "file");
    }

    /** The most one file may hold, at least {@code 2 * AuditJson.MAX_LINE_LENGTH}; 16 MiB. */
    public Builder maxFileBytes(long bytes) {
      if (bytes < 2L * AuditJson.MAX_LINE_LENGTH) {
        throw new IllegalArgumentException("maxFileBytes must be at least 8192: " + bytes);
      }
      this.maxFileBytes = bytes;
      return this;
    }

    /** How many rotated files to keep ({@code FILE.1} ...), 0..100; 3. */
    public Builder rotatedFiles(int count) {
      if (count < 0 || count > 100) {
        throw new IllegalArgumentException("rotatedFiles must be 0..100: " + count);
      }
      this.rotatedFiles = count;
      return this;
    }

    /** How many records may wait for the disk, 1..1,000,000; 10,000. */
    public Builder queueCapacity(int capacity) {
      if (capacity < 1 || capacity > 1_000_000) {
        throw new IllegalArgumentException("queueCapacity must be 1..1000000: " + capacity);
      }
      this.queueCapacity = capacity;
      return this;
    }

    /**
     * Each container's sustained rate and burst of written records; 20 per second, bursts of 100.
     */
    public Builder rateLimit(double perSecond, int burst) {
      if (!(perSecond > 0) || Double.isInfinite(perSecond) || burst < 1) {
        throw new IllegalArgumentException(
            "a rate limit needs a positive rate and burst: " + perSecond + ", " + burst);
      }
      this.ratePerSecond = perSecond;
      this.burst = burst;
      return this;
    }

    /** How often, at most, a container's drops are summarised; 10 seconds. */
    public Builder summaryInterval(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("summaryInterval must be positive: " + interval);
      }
      this.summaryInterval = interval;
      return this;
    }

    /** The clock of the rate limit and the summaries; the system's UTC clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Starts the writer's thread; the file is opened at the first record. */
    public AuditWriter build() {
      return new AuditWriter(this).start();
    }
  }
}
