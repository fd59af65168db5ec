package dev.egress.audit;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Turns the lines tcpdump prints for a packet filter's log into audit records: parses each line,
 * decides the reason (from the NFLOG group, or from pf's header), attributes it by source address
 * ({@link AddressHistory}), and hands it to the writer and to a listener. Lines that name no
 * refused packet of ours are counted ({@link #unparsed()}), not guessed at.
 *
 * <p>Thread-safe; each call is quick and never blocks on the disk (the writer queues).
 */
public final class RefusalLog {
  private final AddressHistory history;
  private final AuditWriter writer;
  private final Consumer<AuditRecord.Refused> listener;
  private final AtomicLong unparsed = new AtomicLong();

  /**
   * @param listener called with every record, written or left out by the writer's limits (the
   *     daemon's event stream); must be quick and must not throw
   */
  public RefusalLog(
      AddressHistory history, AuditWriter writer, Consumer<AuditRecord.Refused> listener) {
    this.history = Objects.requireNonNull(history, "history");
    this.writer = Objects.requireNonNull(writer, "writer");
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /** One line of {@link TcpdumpLine#nflogArguments} for {@code group} of {@code groups}. */
  public void nflogLine(NflogGroups groups, int group, String line) {
    @Nullable Reason reason = groups.reasonOf(group);
    @Nullable RefusedPacket packet = TcpdumpLine.parseNflog(line);
    if (reason == null || packet == null) {
      unparsed.incrementAndGet();
      return;
    }
    record(packet, reason);
  }

  /** One line of {@link TcpdumpLine#PFLOG_ARGUMENTS}; {@code reasons} knows the parent anchor. */
  public void pflogLine(PflogReasons reasons, String line) {
    TcpdumpLine.@Nullable PflogEntry entry = TcpdumpLine.parsePflog(line);
    @Nullable Reason reason = entry == null ? null : reasons.reasonOf(entry);
    if (entry == null || reason == null) {
      unparsed.incrementAndGet();
      return;
    }
    record(entry.packet(), reason);
  }

  /** How many lines named no refused packet of ours. */
  public long unparsed() {
    return unparsed.get();
  }

  private void record(RefusedPacket packet, Reason reason) {
    AuditRecord.Refused record = history.attribute(packet, reason);
    writer.offer(record);
    listener.accept(record);
  }
}
