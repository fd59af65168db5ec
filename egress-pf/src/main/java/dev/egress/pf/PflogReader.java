package dev.egress.pf;

import dev.egress.audit.LogReaders;
import dev.egress.audit.PflogReasons;
import dev.egress.audit.RefusalLog;
import dev.egress.audit.RestartingLogProcess;
import dev.egress.audit.TcpdumpLine;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The pf enforcer's reader of its log for the audit trail: {@code pflog0} (created first when
 * missing, as pflog(4) says: {@code ifconfig pflog0 create}) read by one {@code tcpdump}, started
 * again with a back-off when it dies; its lines go to a {@link RefusalLog}. Runs from the
 * enforcer's build to its close. Needs root: tcpdump and ifconfig are run directly, not through the
 * sudo wrapper (which allows pfctl calls only). Thread-safe.
 */
final class PflogReader implements LogReaders {
  static final String INTERFACE = "pflog0";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);

  private final RestartingLogProcess reader;
  private final RefusalLog log;

  private PflogReader(RestartingLogProcess reader, RefusalLog log) {
    this.reader = reader;
    this.log = log;
  }

  /**
   * Makes sure {@code pflog0} exists, then starts the reader and returns once it receives packets.
   *
   * @param firstBackoff the wait before a dead reader is started again; it doubles with each
   *     restart up to a minute, and is back to the first after a run longer than that
   * @throws IllegalStateException if {@code pflog0} could not be created, or the reader could not
   *     be started or did not get ready
   */
  static PflogReader start(
      ProcessRunner runner,
      List<String> ifconfigCommand,
      List<String> tcpdumpCommand,
      Duration commandTimeout,
      Duration firstBackoff,
      PflogReasons reasons,
      RefusalLog log) {
    List<String> argv = new ArrayList<>(tcpdumpCommand);
    argv.addAll(TcpdumpLine.PFLOG_ARGUMENTS);
    try {
      ensureInterface(runner, ifconfigCommand, commandTimeout);
      RestartingLogProcess reader =
          RestartingLogProcess.start(
              argv,
              line -> log.pflogLine(reasons, line),
              "listening on",
              READY_TIMEOUT,
              firstBackoff,
              firstBackoff.compareTo(Duration.ofMinutes(1)) > 0
                  ? firstBackoff
                  : Duration.ofMinutes(1));
      return new PflogReader(reader, log);
    } catch (IOException e) {
      throw new IllegalStateException("the audit trail could not be started: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the audit trail", e);
    }
  }

  /** {@code ifconfig pflog0}, and {@code ifconfig pflog0 create} when that says it is missing. */
  private static void ensureInterface(
      ProcessRunner runner, List<String> ifconfigCommand, Duration timeout)
      throws IOException, InterruptedException {
    if (run(runner, ifconfigCommand, timeout, INTERFACE).exitCode() == 0) {
      return;
    }
    ProcessResult created = run(runner, ifconfigCommand, timeout, INTERFACE, "create");
    if (created.exitCode() != 0) {
      throw new IOException(
          String.join(" ", ifconfigCommand)
              + " "
              + INTERFACE
              + " create failed (exit "
              + created.exitCode()
              + "): "
              + created.stderr().strip());
    }
  }

  private static ProcessResult run(
      ProcessRunner runner, List<String> command, Duration timeout, String... arguments)
      throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(command);
    argv.addAll(List.of(arguments));
    return runner.run(new Command(argv, timeout));
  }

  /** Lines the reader printed that named no refused packet of ours. */
  long unparsed() {
    return log.unparsed();
  }

  /** How often the reader was started again after it died. */
  long restarts() {
    return reader.restarts();
  }

  /** Whether the reader runs now. */
  boolean isReading() {
    return reader.isRunning();
  }

  @Override
  public void close() {
    reader.close();
  }
}
