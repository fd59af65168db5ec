package dev.egress.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The service definition that runs egressd at boot, from the templates in this package: a systemd
 * unit on Linux, a launchd daemon on macOS, both running egressd as root with the given Java, jar
 * and configuration.
 *
 * @param name the file name: {@code egressd.service} or {@code dev.egress.egressd.plist}
 * @param installPath where it is installed
 * @param text the file's content
 * @param nextSteps the commands that enable and start it once installed
 */
record ServiceFile(String name, Path installPath, String text, List<String> nextSteps) {
  /**
   * The JVM options egressd runs with, here and in the {@code egressd} launcher script: an idle
   * daemon's own CPU was mostly the JVM's. Without performance-data sampling the JVM does not wake
   * 20 times a second to update its counters (so {@code jps} and {@code jstat} do not see egressd;
   * {@code jcmd PID} still works), and the serial collector has no background service thread and
   * keeps a smaller heap: a daemon's heap is small, so its pauses are short. The JIT stops at C1
   * (tier 1, no profiling): what a DNS filter runs for an uncached name runs a few times a second
   * at most, too rarely for C2, and spent its life in C1's profiling tier, slower than tier 1; with
   * tier 1 the filter's uncached answers were faster (issue 13), and the cached path's throughput
   * no lower beyond the noise, several times its target (docs/dns-filter-performance.md). Every
   * method is compiled at its first call ({@code -Xcomp}): otherwise the filter's uncached path ran
   * in the interpreter for its first several hundred names, each answer milliseconds slower; the
   * cost is a slower start (about 3 s against 0.7 s) and a larger process (about 15 MiB). The lab
   * runs its egressd-like processes with a copy ({@code LabProcess.EGRESSD_JAVA_OPTIONS}), which a
   * test checks against this one.
   */
  static final List<String> JAVA_OPTIONS =
      List.of("-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-Xcomp");

  /** Paths written into the files: no spaces, quotes, {@code $}, {@code %} or markup. */
  private static final Pattern PLAIN_PATH = Pattern.compile("/[A-Za-z0-9_./+-]*");

  ServiceFile {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(installPath, "installPath");
    Objects.requireNonNull(text, "text");
    nextSteps = List.copyOf(nextSteps);
  }

  /**
   * The service file for {@code config}'s backend.
   *
   * @throws IllegalArgumentException if a path holds characters the file format would need escaped
   */
  static ServiceFile of(DaemonConfig config, Path java, Path jar, Path configFile) {
    Set<String> writable = new LinkedHashSet<>();
    for (Path file : List.of(config.socket(), config.stateFile())) {
      writable.add(String.valueOf(file.getParent()));
    }
    Map<String, String> values =
        Map.of(
            "@JAVA@", plain(java),
            "@JAVA_OPTIONS@", String.join(" ", JAVA_OPTIONS),
            "@JAVA_OPTION_STRINGS@",
                String.join(
                    "\n    ",
                    JAVA_OPTIONS.stream()
                        .map(option -> "<string>" + option + "</string>")
                        .toList()),
            "@JAR@", plain(jar),
            "@CONFIG@", plain(configFile),
            "@SOCKET@", plain(config.socket()),
            "@WRITABLE@",
                String.join(" ", writable.stream().map(Path::of).map(ServiceFile::plain).toList()));
    if (config.backend() == DaemonConfig.Backend.PF) {
      String name = "dev.egress.egressd.plist";
      Path path = Path.of("/Library/LaunchDaemons").resolve(name);
      return new ServiceFile(
          name,
          path,
          fill(template(name), values),
          List.of(
              "sudo chown root:wheel " + path + " && sudo chmod 644 " + path,
              "sudo launchctl bootstrap system " + path,
              "sudo launchctl kill HUP system/dev.egress.egressd   # re-read policy files"));
    }
    String name = "egressd.service";
    Path path = Path.of("/etc/systemd/system").resolve(name);
    return new ServiceFile(
        name,
        path,
        fill(template(name), values),
        List.of(
            "sudo systemctl daemon-reload",
            "sudo systemctl enable --now egressd",
            "sudo systemctl reload egressd   # re-read policy files"));
  }

  private static String plain(Path path) {
    String text = path.toString();
    if (!PLAIN_PATH.matcher(text).matches()) {
      throw new IllegalArgumentException(
          "the path "
              + dev.egress.policy.UserText.quote(text)
              + " is not absolute or has characters a service file would need escaped (spaces,"
              + " quotes, '$', '%'): use another path, or write the file from the template by"
              + " hand");
    }
    return text;
  }

  private static String fill(String template, Map<String, String> values) {
    String text = template;
    for (Map.Entry<String, String> value : values.entrySet()) {
      text = text.replace(value.getKey(), value.getValue());
    }
    return text;
  }

  private static String template(String name) {
    try (InputStream in = ServiceFile.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the template " + name + " is missing from egressd's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the template " + name, e);
    }
  }
}
