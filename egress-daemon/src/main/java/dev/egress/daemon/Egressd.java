package dev.egress.daemon;

import dev.egress.daemon.service.Backends;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.CodeSource;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code egressd} command: runs the daemon in the foreground, checks a configuration file, or
 * writes the service file that runs it at boot.
 *
 * <pre>
 * egressd [--config FILE]              run (default FILE: /etc/egressd/egressd.conf)
 * egressd --check-config FILE          check FILE and print every setting, defaults included
 * egressd install-service [--print] [--config FILE] [--jar FILE] [--java FILE]
 * egressd --version | --help
 * </pre>
 *
 * <p>Exit status: 0 done; 1 invalid configuration; 2 usage error; 3 cannot start or serve; 70
 * internal error. Stopped by SIGTERM (or SIGINT), it stops serving and leaves every rule in place;
 * SIGHUP re-reads the policy files.
 */
public final class Egressd {
  static final int OK = 0;
  static final int INVALID = 1;
  static final int USAGE = 2;
  static final int CANNOT_RUN = 3;
  static final int INTERNAL = 70;

  private static final String USAGE_TEXT =
      ""
          + "Usage: egressd [--config FILE]          run the daemon (default "
          + ConfigText.DEFAULT_FILE
          + ")\n"
          + "       egressd --check-config FILE      check FILE, print every setting\n"
          + "       egressd install-service [--print] [--config FILE] [--jar FILE] [--java FILE]\n"
          + "                                        write (or print) the systemd unit or the\n"
          + "                                        launchd plist that runs egressd as root\n"
          + "       egressd --version | --help\n"
          + "Exit status: 0 done, 1 invalid configuration, 2 usage error, 3 cannot start or serve,\n"
          + "70 internal error. SIGTERM stops serving and leaves every rule in place; SIGHUP\n"
          + "re-reads the policy files.\n";

  private Egressd() {}

  public static void main(String[] args) {
    System.exit(run(List.of(args), System.out, System.err));
  }

  /** Runs the command {@code args}; returns its exit status (the daemon: once stopped). */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    try {
      if (args.equals(List.of("--help"))) {
        out.print(USAGE_TEXT);
        return OK;
      }
      if (args.equals(List.of("--version"))) {
        out.println("egressd " + dev.egress.daemon.service.EgressService.VERSION);
        return OK;
      }
      if (args.size() == 2 && args.get(0).equals("--check-config")) {
        return checkConfig(Path.of(args.get(1)), out, err);
      }
      if (!args.isEmpty() && args.get(0).equals("install-service")) {
        return installService(args.subList(1, args.size()), out, err);
      }
      if (args.isEmpty() || (args.size() == 2 && args.get(0).equals("--config"))) {
        return serve(args.isEmpty() ? ConfigText.DEFAULT_FILE : Path.of(args.get(1)), err);
      }
      err.print("egressd: unexpected arguments " + UserText.quote(String.join(" ", args)) + "\n");
      err.print(USAGE_TEXT);
      return USAGE;
    } catch (RuntimeException e) {
      err.println("egressd: internal error: " + e);
      e.printStackTrace(err);
      return INTERNAL;
    }
  }

  private static int checkConfig(Path file, PrintStream out, PrintStream err) {
    Optional<DaemonConfig> config = read(file, err);
    if (config.isEmpty()) {
      return INVALID;
    }
    out.println(UserText.line(file.toString()) + ": ok");
    out.print(ConfigText.format(config.get()));
    return OK;
  }

  private static Optional<DaemonConfig> read(Path file, PrintStream err) {
    try {
      return Optional.of(ConfigText.read(file));
    } catch (ConfigException e) {
      err.println(e.getMessage());
    } catch (FileSystemException e) {
      err.println("egressd: cannot read the configuration " + e.getMessage());
    }
    return Optional.empty();
  }

  private static int serve(Path file, PrintStream err) {
    Optional<DaemonConfig> config = read(file, err);
    if (config.isEmpty()) {
      return INVALID;
    }
    Logger log = LoggerFactory.getLogger(Egressd.class);
    Daemon daemon;
    try {
      daemon =
          Daemon.start(
              config.get(), events -> Backends.host(config.get(), events), Clock.systemUTC());
    } catch (IOException | UncheckedIOException e) {
      log.error("egressd cannot start: {}", e.getMessage(), e);
      return CANNOT_RUN;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "egressd-shutdown"));
    onSighup(daemon::reloadPolicies);
    try {
      daemon.awaitClose();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      daemon.close();
    }
    return OK;
  }

  /** SIGHUP runs {@code action} (through the JDK's signal API: there is no public one). */
  @SuppressWarnings("restriction")
  private static void onSighup(Runnable action) {
    sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> action.run());
  }

  private static int installService(List<String> args, PrintStream out, PrintStream err) {
    boolean print = false;
    Path configFile = ConfigText.DEFAULT_FILE;
    @Nullable Path jar = null;
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> rest = new ArrayList<>(args);
    while (!rest.isEmpty()) {
      String option = rest.remove(0);
      if (option.equals("--print")) {
        print = true;
      } else if (rest.isEmpty() || !List.of("--config", "--jar", "--java").contains(option)) {
        err.print("egressd install-service: unexpected " + UserText.quote(option) + "\n");
        err.print(USAGE_TEXT);
        return USAGE;
      } else {
        Path value = Path.of(rest.remove(0)).toAbsolutePath().normalize();
        switch (option) {
          case "--config":
            configFile = value;
            break;
          case "--jar":
            jar = value;
            break;
          default:
            java = value;
            break;
        }
      }
    }
    Optional<DaemonConfig> config = read(configFile, err);
    if (config.isEmpty()) {
      return INVALID;
    }
    Path runningJar = jar != null ? jar : runningJar().orElse(null);
    if (runningJar == null) {
      err.println(
          "egressd install-service: egressd is not running from its jar; name it with --jar"
              + " (egress-daemon/target/egressd.jar)");
      return USAGE;
    }
    ServiceFile service;
    try {
      service = ServiceFile.of(config.get(), java, runningJar, configFile);
    } catch (IllegalArgumentException e) {
      err.println("egressd install-service: " + e.getMessage());
      return INVALID;
    }
    if (print) {
      out.print(service.text());
      return OK;
    }
    try {
      Files.writeString(service.installPath(), service.text(), StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(
          service.installPath(), PosixFilePermissions.fromString("rw-r--r--"));
    } catch (IOException e) {
      err.println("egressd install-service: cannot write " + service.installPath() + ": " + e);
      return CANNOT_RUN;
    }
    out.println("wrote " + service.installPath() + "; now run:");
    service.nextSteps().forEach(step -> out.println("  " + step));
    return OK;
  }

  private static Optional<Path> runningJar() {
    CodeSource source = Egressd.class.getProtectionDomain().getCodeSource();
    if (source == null) {
      return Optional.empty();
    }
    try {
      Path location = Path.of(source.getLocation().toURI());
      return location.toString().endsWith(".jar") ? Optional.of(location) : Optional.empty();
    } catch (URISyntaxException e) {
      return Optional.empty();
    }
  }
}
