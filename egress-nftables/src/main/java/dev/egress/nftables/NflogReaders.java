package dev.egress.nftables;

import dev.egress.audit.LogProcess;
import dev.egress.audit.LogReaders;
import dev.egress.audit.NflogGroups;
import dev.egress.audit.Reason;
import dev.egress.audit.RefusalLog;
import dev.egress.audit.TcpdumpLine;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The nftables enforcer's readers of its log for the audit trail: one tcpdump per NFLOG group (one
 * group per reason), whose lines go to a {@link RefusalLog}. Run from the enforcer's build to its
 * close. Thread-safe.
 */
final class NflogReaders implements LogReaders {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);

  private final List<LogProcess> readers;

  private NflogReaders(List<LogProcess> readers) {
    this.readers = readers;
  }

  /**
   * Starts the readers and returns once each receives packets.
   *
   * @throws IllegalStateException if a reader could not be started or did not get ready; the others
   *     are stopped
   */
  static NflogReaders start(List<String> tcpdumpCommand, NflogGroups groups, RefusalLog log) {
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
    return new NflogReaders(List.copyOf(readers));
  }

  @Override
  public void close() {
    readers.forEach(LogProcess::close);
  }
}
