package dev.egress.cli;

import dev.egress.audit.AuditJson;
import dev.egress.audit.AuditRecord;
import dev.egress.audit.RefusedPacket;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = {
      "Show the audit trail: the packets the filter refused, one a line, oldest first (rotated"
          + " files FILE.N .. FILE.1 before FILE).",
      "Exit status: 0 done, 1 some lines were not audit records (the others are shown),"
          + " 2 usage error, 3 the file cannot be read."
    })
final class LogsCommand implements Callable<Integer> {
  /** Where egressd and the launcher write the audit trail unless told otherwise. */
  static final Path DEFAULT_FILE = Path.of("/var/log/egress/audit.jsonl");

  static final String FILE_VARIABLE = "EGRESSCTL_AUDIT_FILE";
  private static final long FOLLOW_POLL_MILLIS = 250;
  private static final int MAX_ROTATED = 100;
  private static final String COLUMNS = "%-27s  %-16s  %-48s  %-20s  %s";
  static final String HEADER =
      String.format(COLUMNS, "TIME", "CONTAINER", "SOURCE -> DESTINATION PROTO/PORT", "REASON", "")
          .stripTrailing();

  private final CliHost host;

  @Mixin private OutputOptions outputOptions = new OutputOptions();

  @Option(
      names = "--file",
      paramLabel = "FILE",
      description =
          "The audit file (default: $" + FILE_VARIABLE + ", else /var/log/egress/audit.jsonl).")
  private @Nullable Path file;

  @Option(names = "--container", paramLabel = "ID", description = "Only records of this container.")
  private @Nullable String container;

  @Option(names = "--json", description = "Print the records as JSON Lines (the audit format).")
  private boolean json;

  @Option(
      names = {"-f", "--follow"},
      description = "Keep printing records as they are written, until interrupted.")
  private boolean follow;

  LogsCommand(CliHost host) {
    this.host = host;
  }

  @Override
  public Integer call() throws InterruptedException {
    Output output = outputOptions.open(host);
    Path path =
        file != null
            ? file
            : Path.of(host.environment().getOrDefault(FILE_VARIABLE, DEFAULT_FILE.toString()));
    @Nullable ContainerId only;
    try {
      only = container == null ? null : ContainerId.of(container);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: " + e.getMessage());
    }
    Printer printer = new Printer(output, only);
    if (!json) {
      output.result(HEADER);
    }
    List<Path> files = new ArrayList<>();
    for (int i = MAX_ROTATED; i >= 1; i--) {
      Path rotated = path.resolveSibling(path.getFileName() + "." + i);
      if (Files.isRegularFile(rotated)) {
        files.add(rotated);
      }
    }
    files.add(path);
    long position = 0;
    for (Path each : files) {
      try {
        position = printer.print(each, 0);
      } catch (NoSuchFileException e) {
        if (!follow) {
          throw new CommandFailure(
              ExitCodes.CANNOT_ENFORCE,
              "egressctl: no audit file " + UserText.quote(each.toString()));
        }
      } catch (IOException e) {
        throw new CommandFailure(
            ExitCodes.CANNOT_ENFORCE,
            "egressctl: cannot read " + UserText.quote(each.toString()) + ": " + e.getMessage());
      }
    }
    while (follow) {
      Thread.sleep(FOLLOW_POLL_MILLIS);
      try {
        long size = Files.exists(path) ? Files.size(path) : 0;
        // A smaller file is a new one (rotated): read it from its start.
        position = printer.print(path, size < position ? 0 : position);
      } catch (NoSuchFileException e) {
        position = 0;
      } catch (IOException e) {
        throw new CommandFailure(
            ExitCodes.CANNOT_ENFORCE,
            "egressctl: cannot read " + UserText.quote(path.toString()) + ": " + e.getMessage());
      }
    }
    if (printer.invalid > 0) {
      output.error(
          "egressctl: "
              + printer.invalid
              + (printer.invalid == 1 ? " line was" : " lines were")
              + " not an audit record of version "
              + AuditJson.SCHEMA_VERSION
              + "; first: "
              + printer.firstProblem);
      return ExitCodes.FINDINGS;
    }
    return ExitCodes.OK;
  }

  /** Prints the records of one file from a byte position on; remembers what it could not read. */
  private final class Printer {
    private final Output output;
    private final @Nullable ContainerId only;
    long invalid;
    String firstProblem = "";

    Printer(Output output, @Nullable ContainerId only) {
      this.output = output;
      this.only = only;
    }

    /** Prints the whole lines from {@code from} on; returns the position after the last one. */
    long print(Path path, long from) throws IOException {
      byte[] bytes;
      try (InputStream in = Files.newInputStream(path)) {
        in.skipNBytes(from);
        bytes = in.readAllBytes();
      }
      int start = 0;
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == '\n') {
          line(new String(bytes, start, i - start, StandardCharsets.UTF_8));
          start = i + 1;
        }
      }
      // A line still being written (no line break yet) is read at the next poll.
      return from + start;
    }

    private void line(String line) {
      if (line.isBlank()) {
        return;
      }
      AuditRecord record;
      try {
        record = AuditJson.read(line);
      } catch (IllegalArgumentException e) {
        if (invalid++ == 0) {
          firstProblem = String.valueOf(e.getMessage());
        }
        return;
      }
      if (only != null && !only.equals(record.container())) {
        return;
      }
      output.result(json ? AuditJson.write(record) : row(record));
    }
  }

  /** One record as a row of the table under {@link #HEADER}. */
  static String row(AuditRecord record) {
    String who = record.container() == null ? "-" : record.container().value();
    if (record instanceof AuditRecord.Refused refused) {
      RefusedPacket packet = refused.packet();
      String flow =
          IpAddresses.format(packet.source())
              + " -> "
              + IpAddresses.format(packet.destination())
              + " "
              + packet.protocol().wireName()
              + (packet.destinationPort() == null ? "" : "/" + packet.destinationPort());
      String about =
          (refused.policy() == null ? "" : "policy " + UserText.line(refused.policy()))
              + (refused.host() == null ? "" : " host " + refused.host().ascii());
      return String.format(
              COLUMNS, refused.time(), who, flow, refused.reason().wireName(), about.strip())
          .stripTrailing();
    }
    AuditRecord.Dropped dropped = (AuditRecord.Dropped) record;
    return String.format(
            COLUMNS,
            dropped.time(),
            who,
            dropped.count() + " records not written since " + dropped.since(),
            dropped.cause().wireName(),
            "")
        .stripTrailing();
  }
}
