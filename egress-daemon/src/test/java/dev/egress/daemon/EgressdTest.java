package dev.egress.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.LabProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: its modes, exit statuses and the service files it writes. */
class EgressdTest {
  @TempDir Path directory;

  private record Result(int exit, String out, String err) {}

  private static Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit =
        Egressd.run(
            List.of(args),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(
        exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private Path config(String text) throws Exception {
    Path file = directory.resolve("egressd.conf");
    Files.writeString(file, text);
    return file;
  }

  @Test
  void checkConfig_printsEverySetting_andExitsZero() throws Exception {
    Path file = config("managed-network 10.213.0.0/24\nallow-users root\n");

    Result result = run("--check-config", file.toString());

    assertEquals(0, result.exit(), result.err());
    assertTrue(result.out().startsWith(file + ": ok\nbackend nftables\n"), result.out());
    assertTrue(result.out().contains("\nmax-connections 128\n"), result.out());
  }

  @Test
  void checkConfig_ofAnInvalidFile_printsThePositionedProblems_andExitsOne() throws Exception {
    Path file = config("managed-network 10.213.0.0/24\nallow-users root\nsocket-mode 0777\n");

    Result result = run("--check-config", file.toString());

    assertEquals(1, result.exit());
    assertTrue(result.err().startsWith(file + ":3:13: expected 0660"), result.err());
  }

  @Test
  void aMissingConfiguration_exitsOne_namingIt() {
    Result result = run("--config", directory.resolve("absent.conf").toString());

    assertEquals(1, result.exit());
    assertTrue(result.err().contains("absent.conf: no such file"), result.err());
  }

  @Test
  void unknownArguments_areAUsageError() {
    Result result = run("--frobnicate");

    assertEquals(2, result.exit());
    assertTrue(result.err().startsWith("egressd: unexpected arguments '--frobnicate'\nUsage:"));
  }

  @Test
  void help_andVersion() {
    assertTrue(run("--help").out().contains("install-service"));
    assertEquals("egressd 0.1.0\n", run("--version").out());
  }

  @Test
  void installServicePrint_writesTheSystemdUnitForThisConfiguration() throws Exception {
    Path file =
        config(
            "managed-network 10.213.0.0/24\nallow-users root\nsocket /run/eg/egressd.sock\n"
                + "state-file /var/lib/eg/state.json\n");

    Result result =
        run(
            "install-service",
            "--print",
            "--config",
            file.toString(),
            "--jar",
            "/opt/egressd/egressd.jar",
            "--java",
            "/usr/bin/java");

    assertEquals(0, result.exit(), result.err());
    assertTrue(
        result
            .out()
            .contains(
                "\nExecStart=/usr/bin/java -XX:+UseSerialGC -XX:-UsePerfData -XX:TieredStopAtLevel=1"
                    + " -Xcomp -jar"
                    + " /opt/egressd/egressd.jar --config "
                    + file
                    + "\n"),
        result.out());
    assertTrue(result.out().contains("while [ ! -S /run/eg/egressd.sock ]"), result.out());
    assertTrue(result.out().contains("\nReadWritePaths=/run/eg /var/lib/eg\n"), result.out());
    assertTrue(result.out().contains("\nUser=root\n"));
    assertTrue(!result.out().contains("@"), "every placeholder is filled");
  }

  @Test
  void installServicePrint_writesTheLaunchdPlistForPf() throws Exception {
    Path file =
        config(
            "backend pf\nmanaged-network 192.168.70.0/24\nallow-groups staff\n"
                .replace("staff", "0"));

    Result result =
        run("install-service", "--print", "--config", file.toString(), "--jar", "/opt/egressd.jar");

    assertEquals(0, result.exit(), result.err());
    assertTrue(
        result
            .out()
            .contains(
                "<string>-XX:+UseSerialGC</string>\n    <string>-XX:-UsePerfData</string>\n"
                    + "    <string>-XX:TieredStopAtLevel=1</string>\n"
                    + "    <string>-Xcomp</string>\n"
                    + "    <string>-jar</string>\n    <string>/opt/egressd.jar</string>"),
        result.out());
    assertTrue(result.out().contains("<key>UserName</key>\n  <string>root</string>"), result.out());
    assertTrue(!result.out().contains("@"), "every placeholder is filled");
  }

  @Test
  void theLabRunsItsEgressdProcessesWithTheServiceFilesJavaOptions() {
    assertEquals(ServiceFile.JAVA_OPTIONS, LabProcess.EGRESSD_JAVA_OPTIONS);
  }

  @Test
  void theLauncherScriptRunsEgressdWithTheServiceFilesJavaOptions() throws Exception {
    String script = Files.readString(Path.of("..", "egressd")); // the module's parent: the checkout

    assertTrue(
        script.contains(
            "exec java ${EGRESSD_JAVA_OPTS-"
                + String.join(" ", ServiceFile.JAVA_OPTIONS)
                + "} -jar \"$jar\" \"$@\"\n"),
        script);
  }

  @Test
  void installService_refusesPathsTheFileWouldNeedEscaped() throws Exception {
    Path file = config("managed-network 10.213.0.0/24\nallow-users root\n");

    Result result =
        run(
            "install-service",
            "--print",
            "--config",
            file.toString(),
            "--jar",
            "/opt/my egressd/egressd.jar");

    assertEquals(1, result.exit());
    assertTrue(
        result.err().contains("'/opt/my egressd/egressd.jar' is not absolute or has characters"),
        result.err());
  }
}
