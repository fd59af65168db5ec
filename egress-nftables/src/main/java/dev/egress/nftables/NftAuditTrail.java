package dev.egress.nftables;

import dev.egress.audit.AddressHistory;
import dev.egress.audit.AuditRecord;
import dev.egress.audit.AuditWriter;
import dev.egress.audit.LogProcess;
import dev.egress.audit.NflogGroups;
import dev.egress.audit.Reason;
import dev.egress.audit.RefusalLog;
import dev.egress.audit.TcpdumpLine;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The enforcer's audit trail on Linux: one tcpdump per NFLOG group (one group per reason), whose
 * lines become records attributed through {@link AddressHistory}. Runs from the enforcer's build to
 * its close. Thread-safe.
 */
final class NftAuditTrail implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);

  private final List<LogProcess> readers;
  private final RefusalLog log;
  private final AddressHistory history;

  private NftAuditTrail(List<LogProcess> readers, RefusalLog log, AddressHistory history) {
    this.readers = readers;
    this.log = log;
    this.history = history;
  }

  /**
   * Starts the readers and returns once each receives packets.
   *
   * @throws IllegalStateException if a reader could not be started or did not get ready; the others
   *     are stopped
   */
  static NftAuditTrail start(
      List<String> tcpdumpCommand,
      NflogGroups groups,
      AddressHistory history,
      AuditWriter writer,
      Consumer<AuditRecord.Refused> records) {
    RefusalLog log = new RefusalLog(history, writer, records);
    List<LogProcess> readers = new ArrayList<>();
    try {
      for (Reason reason : Reason.values()) {
        int group = groups.group(reason);
        List<String> argv = new ArrayList<>(tcpdumpCommand);
        argv.addAll(TcpdumpLine.nflogArguments(group));
        LogProcess reader = LogProcess.start(argv, line -> log.nflogLine(groups, group, line));
        readers.add(reader);
        if (!reader.awaitDiagnostic("listening on", READY_TIMEOUT)) {
          throw new IllegalStateException(
              "the audit reader "
                  + String.join(" ", argv)
                  + " did not start listening: "
                  + reader.diagnostics());
        }
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      readers.forEach(LogProcess::close);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw e instanceof IllegalStateException ise
          ? ise
          : new IllegalStateException("the audit readers could not be started: " + e, e);
    }
    return new NftAuditTrail(List.copyOf(readers), log, history);
  }

  /** Whom the records are attributed to, and the names given for their destinations. */
  AddressHistory history() {
    return history;
  }

  /** Lines the readers printed that named no refused packet. */
  long unparsed() {
    return log.unparsed();
  }

  @Override
  public void close() {
    readers.forEach(LogProcess::close);
  }
}
