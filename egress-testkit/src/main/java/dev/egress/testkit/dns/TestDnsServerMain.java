package dev.egress.testkit.dns;

import dev.egress.lab.dns.TestDnsServer;
import dev.egress.lab.dns.ZoneText;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Runs a {@link TestDnsServer} as a process, for end-to-end tests in network namespaces.
 *
 * <pre>
 * java -cp ... dev.egress.testkit.dns.TestDnsServerMain [--listen ADDRESS:PORT] [--zone FILE]
 *     [--delay-ms N] ['ZONE LINE'...]
 * </pre>
 *
 * <ul>
 *   <li>{@code --listen} defaults to {@code 127.0.0.1:0} (an ephemeral port); IPv6 as {@code
 *       [::1]:53}.
 *   <li>{@code --zone FILE} serves the lines of FILE (format: {@link ZoneText}) and re-reads it
 *       whenever its modification time changes (checked every 200 ms); a file with an error is
 *       reported on stderr and the previous answers stay. To change answers, rewrite the file
 *       (write a temporary file and rename it over the old one, so no half-written file is read).
 *   <li>Remaining arguments are zone lines, served together with the file's.
 * </ul>
 *
 * <p>Once serving, prints {@code listening on ADDRESS:PORT} on stdout; runs until killed.
 */
public final class TestDnsServerMain {
  private static final Duration POLL = Duration.ofMillis(200);

  private TestDnsServerMain() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    InetSocketAddress listen = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    @Nullable Path zoneFile = null;
    Duration delay = Duration.ZERO;
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--listen" -> listen = parseListen(valueOf(args, ++i, "--listen"));
        case "--zone" -> zoneFile = Path.of(valueOf(args, ++i, "--zone"));
        case "--delay-ms" ->
            delay = Duration.ofMillis(Long.parseLong(valueOf(args, ++i, "--delay-ms")));
        default -> {
          if (args[i].startsWith("--")) {
            usage("unknown option " + args[i]);
          }
          lines.add(args[i]);
        }
      }
    }
    String inline = String.join("\n", lines);
    try (TestDnsServer server = TestDnsServer.start(listen)) {
      server.setDelay(delay);
      @Nullable FileTime loaded = null;
      server.loadZone(zoneFile == null ? inline : read(zoneFile) + "\n" + inline);
      if (zoneFile != null) {
        loaded = Files.getLastModifiedTime(zoneFile);
      }
      InetSocketAddress bound = server.address();
      PrintStream out = System.out;
      out.println("listening on " + format(bound));
      out.flush();
      while (true) {
        Thread.sleep(POLL.toMillis());
        if (zoneFile == null) {
          continue;
        }
        try {
          FileTime modified = Files.getLastModifiedTime(zoneFile);
          if (!modified.equals(loaded)) {
            loaded = modified;
            server.loadZone(read(zoneFile) + "\n" + inline);
            out.println("reloaded " + zoneFile);
            out.flush();
          }
        } catch (IOException | IllegalArgumentException e) {
          System.err.println("zone file " + zoneFile + " not reloaded: " + e.getMessage());
        }
      }
    }
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  private static String valueOf(String[] args, int index, String option) {
    if (index >= args.length) {
      usage(option + " needs a value");
    }
    return args[index];
  }

  private static InetSocketAddress parseListen(String text) throws IOException {
    int colon = text.lastIndexOf(':');
    if (colon < 0) {
      usage("--listen takes ADDRESS:PORT, such as 127.0.0.1:5353 or [::1]:53");
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (!host.contains(":") && !host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))) {
      usage("--listen takes an address literal, not a name: " + text);
    }
    return new InetSocketAddress(
        InetAddress.getByName(host), Integer.parseInt(text.substring(colon + 1)));
  }

  private static String format(InetSocketAddress address) {
    String host = address.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
  }

  private static void usage(String problem) {
    System.err.println(problem);
    System.err.println(
        "usage: TestDnsServerMain [--listen ADDRESS:PORT] [--zone FILE] [--delay-ms N]"
            + " ['NAME TTL A|AAAA|CNAME VALUE'...]");
    System.exit(2);
  }
}
