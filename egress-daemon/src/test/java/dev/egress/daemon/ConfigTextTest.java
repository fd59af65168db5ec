package dev.egress.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.daemon.DaemonConfig.Backend;
import dev.egress.daemon.DaemonConfig.SocketMode;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicySyntaxException.Problem;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTextTest {
  private static final String MINIMAL = "managed-network 10.213.0.0/24\nallow-users root\n";

  private static DaemonConfig parse(String text) throws ConfigException {
    return ConfigText.parse(
        text, "egressd.conf", "Linux", FileSystems.getDefault().getUserPrincipalLookupService());
  }

  private static List<String> problems(String text) {
    ConfigException e = assertThrows(ConfigException.class, () -> parse(text));
    return e.problems().stream().map(Problem::toString).collect(Collectors.toList());
  }

  @Nested
  class Defaults {
    @Test
    void minimalFile_getsTheLinuxDefaults() throws Exception {
      DaemonConfig config = parse(MINIMAL);

      assertEquals(Backend.NFTABLES, config.backend());
      assertEquals(List.of(IpNetwork.parse("10.213.0.0/24")), config.managedNetworks());
      assertTrue(config.guarded());
      assertTrue(config.guardLog());
      assertEquals(Path.of("/run/egressd/egressd.sock"), config.socket());
      assertEquals(Path.of("/run/egressd/state.json"), config.stateFile());
      assertEquals(Path.of("/etc/egressd/policies"), config.policyDirectory());
      assertNull(config.auditFile(), "no audit trail unless asked for");
      assertEquals(SocketMode.OWNER_AND_GROUP, config.socketMode());
      assertEquals(Duration.ofSeconds(30), config.healthCheckPeriod());
      assertEquals(Duration.ofSeconds(10), config.policyReloadPeriod());
      assertEquals(new DaemonConfig.Limits(1 << 20, 128, 1000), config.limits());
      assertTrue(config.resolver().servers().isEmpty());
    }

    @Test
    void onMacos_theBackendIsPf_andTheRuntimeDirectoryIsVarRun() throws Exception {
      DaemonConfig config =
          ConfigText.parse(
              MINIMAL,
              "egressd.conf",
              "Mac OS X",
              FileSystems.getDefault().getUserPrincipalLookupService());

      assertEquals(Backend.PF, config.backend());
      assertEquals(Path.of("/var/run/egressd/egressd.sock"), config.socket());
    }
  }

  @Test
  void everySetting_isRead() throws Exception {
    DaemonConfig config =
        parse(
            "# all of them\n"
                + "backend nftables\n"
                + "managed-network 10.213.0.0/24 fd00:10:213::/64\n"
                + "guard-interfaces docker0 br-*\n"
                + "guard-log off\n"
                + "policy-directory /srv/policies\n"
                + "socket /srv/egressd/egressd.sock   # trailing comment\n"
                + "socket-mode 0600\n"
                + "socket-owner root\n"
                + "socket-group 0\n"
                + "allow-users root 0\n"
                + "allow-groups root\n"
                + "state-file /srv/egressd/state.json\n"
                + "audit-file /var/log/egressd/audit.jsonl\n"
                + "resolver-servers 192.0.2.53 2001:db8::53\n"
                + "resolver-query-timeout 500ms\n"
                + "resolver-ttl-floor 5s\n"
                + "resolver-ttl-ceiling 2h\n"
                + "resolver-grace off\n"
                + "dns-filter 10.213.0.1\n"
                + "health-check-period 1m\n"
                + "policy-reload-period off\n"
                + "max-line-bytes 64KiB\n"
                + "max-connections 7\n"
                + "subscriber-queue 5\r\n");

    assertEquals(List.of("docker0", "br-*"), config.guardInterfaces());
    assertFalse(config.guardLog());
    assertEquals(Path.of("/srv/egressd/egressd.sock"), config.socket());
    assertEquals(SocketMode.OWNER, config.socketMode());
    assertEquals("root", String.valueOf(config.socketOwner().getName()));
    assertEquals(1, config.allowUsers().size(), "root and 0 are the same user");
    assertEquals(
        List.of(IpAddresses.parse("192.0.2.53"), IpAddresses.parse("2001:db8::53")),
        config.resolver().servers());
    assertEquals(Duration.ofMillis(500), config.resolver().queryTimeout());
    assertEquals(Duration.ZERO, config.resolver().grace());
    assertEquals(IpAddresses.parse("10.213.0.1"), config.resolver().dnsFilter());
    assertEquals(Duration.ofMinutes(1), config.healthCheckPeriod());
    assertEquals(Duration.ZERO, config.policyReloadPeriod());
    assertEquals(new DaemonConfig.Limits(64 * 1024, 7, 5), config.limits());
    assertEquals(Path.of("/var/log/egressd/audit.jsonl"), config.auditFile());
    assertNull(parse(MINIMAL + "audit-file off\n").auditFile());
  }

  @Test
  void format_parsesBackToAnEqualConfiguration() throws Exception {
    DaemonConfig config =
        parse(
            MINIMAL
                + "guard-interfaces docker0\nsocket-group root\nresolver-servers 192.0.2.53\n"
                + "health-check-period 90s\nresolver-query-timeout 1500ms\ndns-filter 10.213.0.1\n");

    assertEquals(config, parse(ConfigText.format(config)));
    DaemonConfig audited = parse(MINIMAL + "audit-file /var/log/egressd/audit.jsonl\n");
    assertEquals(audited, parse(ConfigText.format(audited)));
  }

  @Test
  void dnsFilter_isOffByDefault_andOffSaysSo() throws Exception {
    assertEquals(null, parse(MINIMAL).resolver().dnsFilter());
    assertEquals(null, parse(MINIMAL + "dns-filter off\n").resolver().dnsFilter());
  }

  @Nested
  class Problems {
    @Test
    void dnsFilter_thatIsNotAnAddress_orOnPf_isRefused() {
      assertEquals(1, problems(MINIMAL + "dns-filter resolver.local\n").size());
      assertTrue(
          problems("backend pf\n" + MINIMAL + "dns-filter 10.213.0.1\n").stream()
              .anyMatch(problem -> problem.contains("dns-filter needs the nftables backend")),
          problems("backend pf\n" + MINIMAL + "dns-filter 10.213.0.1\n").toString());
    }

    @Test
    void dnsFilter_onEveryInterface_loopback_multicast_orLinkLocal_isRefused() {
      for (String address :
          List.of("0.0.0.0", "::", "127.0.0.1", "::1", "224.0.0.251", "fe80::1")) {
        List<String> problems = problems(MINIMAL + "dns-filter " + address + "\n");
        assertEquals(1, problems.size(), address + ": " + problems);
        assertTrue(
            problems.get(0).contains("dns-filter needs one of the host's unicast addresses"),
            problems.get(0));
      }
    }

    @Test
    void unknownSetting_isPositioned_withASuggestion() {
      assertEquals(
          List.of("egressd.conf:3:3: unknown setting 'sockt': did you mean 'socket'?"),
          problems(MINIMAL + "  sockt /run/x.sock\n"));
    }

    @Test
    void settingTwice_namesTheFirstLine() {
      assertEquals(
          List.of("egressd.conf:3:1: 'allow-users' is set twice: first on line 2"),
          problems(MINIMAL + "allow-users root\n"));
    }

    @Test
    void settingWithoutValue_pointsAfterIt() {
      assertEquals(
          List.of("egressd.conf:3:7: 'socket' needs a value after it"),
          problems(MINIMAL + "socket\n"));
    }

    @Test
    void everyBadValue_isReported_atItsColumn() {
      List<String> found =
          problems(
              "managed-network 10.213.0.1/24\n"
                  + "allow-users root nosuchuser-x\n"
                  + "backend iptables\n"
                  + "socket-mode 0666\n"
                  + "health-check-period 10 s\n"
                  + "max-connections 0\n"
                  + "policy-directory etc/policies\n"
                  + "guard-log yes\n");

      assertEquals(
          List.of(
              "egressd.conf:1:17: 10.213.0.1/24 has host bits set: did you mean 10.213.0.0/24?",
              "egressd.conf:2:18: no user 'nosuchuser-x' on this machine",
              "egressd.conf:3:9: expected 'nftables' or 'pf'",
              "egressd.conf:4:13: expected 0660 (owner and group) or 0600 (owner only): others"
                  + " never get access to the socket",
              "egressd.conf:5:24: expected one value, found another: 's'",
              "egressd.conf:6:17: expected 1 to 10000, found 0",
              "egressd.conf:7:18: expected an absolute path, found 'etc/policies'",
              "egressd.conf:8:11: expected 'on' or 'off', found 'yes'",
              "egressd.conf:1:1: set managed-network: the networks only managed containers use,"
                  + " which the guard closes until a container is attached (or 'managed-network"
                  + " unsafe-none' to run without a guard)"),
          found);
    }

    @Test
    void noManagedNetwork_isRefused_butUnsafeNoneRunsWithoutGuard() throws Exception {
      assertTrue(problems("allow-users root\n").get(0).contains("set managed-network"));

      DaemonConfig unguarded = parse("managed-network unsafe-none\nallow-users root\n");
      assertFalse(unguarded.guarded());
    }

    @Test
    void slashZero_isNotAManagedNetwork() {
      assertEquals(
          List.of(
              "egressd.conf:1:17: a /0 network is every address: name the containers' network",
              "egressd.conf:1:1: set managed-network: the networks only managed containers use,"
                  + " which the guard closes until a container is attached (or 'managed-network"
                  + " unsafe-none' to run without a guard)"),
          problems("managed-network 0.0.0.0/0\nallow-users root\n"));
    }

    @Test
    void nobodyAllowed_isRefused() {
      assertEquals(
          List.of(
              "egressd.conf:1:1: set allow-users or allow-groups: otherwise nobody may use the"
                  + " daemon (root neither)"),
          problems("managed-network 10.213.0.0/24\n"));
    }

    @Test
    void interfaces_followTheBackendsRule() {
      assertEquals(
          List.of("egressd.conf:4:28: pf guards at most one bridge (the managed network's), got 2"),
          problems(MINIMAL + "backend pf\nguard-interfaces bridge100 bridge101\n"));
    }

    @Test
    void auditFile_mustBeAbsolute_andIsAcceptedOnPf() throws Exception {
      assertEquals(
          List.of("egressd.conf:3:12: expected an absolute path, found 'audit.jsonl'"),
          problems(MINIMAL + "audit-file audit.jsonl\n"));
      assertEquals(
          Path.of("/var/log/egressd/audit.jsonl"),
          parse(MINIMAL + "backend pf\naudit-file /var/log/egressd/audit.jsonl\n").auditFile());
      assertEquals(
          List.of(
              "egressd.conf:4:18: 'docker0*x' is not an interface name: 1-15 letters, digits, '_',"
                  + " '.', '-', optionally ending in '*'"),
          problems(MINIMAL + "backend nftables\nguard-interfaces docker0*x\n"));
    }

    @Test
    void socketPathTooLongForAUnixAddress_isRefused() {
      String longPath = "/run/" + "d".repeat(100) + "/egressd.sock";
      assertEquals(
          List.of(
              "egressd.conf:3:8: the socket path has 118 bytes, more than the 100 a Unix socket"
                  + " address holds"),
          problems(MINIMAL + "socket " + longPath + "\n"));
    }

    @Test
    void controlCharacters_areRefused_andQuotedEscaped() {
      assertEquals(
          List.of("egressd.conf:3:8: unexpected control character U+001B (ESCAPE)"),
          problems(MINIMAL + "socket \u001b[31m/run/x\n"));
      assertEquals(
          List.of("egressd.conf:3:1: unknown setting 'sock\\u202Eet': did you mean 'socket'?"),
          problems(MINIMAL + "sock\u202eet /run/x\n"));
    }
  }

  @Nested
  class Reading {
    @TempDir Path dir;

    @Test
    void readsAFile_andNamesItInProblems() throws Exception {
      Path file = dir.resolve("egressd.conf");
      Files.writeString(file, MINIMAL + "bogus 1\n");

      ConfigException e = assertThrows(ConfigException.class, () -> ConfigText.read(file));
      assertEquals(file + ":3:1: unknown setting 'bogus'", e.getMessage());
    }

    @Test
    void missingFile_directory_andOversizedFile_areRefusedBeforeReading() throws Exception {
      assertThrows(NoSuchFileException.class, () -> ConfigText.read(dir.resolve("absent")));
      FileSystemException directory =
          assertThrows(FileSystemException.class, () -> ConfigText.read(dir));
      assertEquals("a directory, not a configuration file", directory.getReason());
      Path big = dir.resolve("big.conf");
      Files.write(big, new byte[ConfigText.MAX_SIZE + 1]);
      FileSystemException large =
          assertThrows(FileSystemException.class, () -> ConfigText.read(big));
      assertEquals(
          "65537 bytes: a configuration file may hold at most 65536 bytes", large.getReason());
    }

    @Test
    void invalidUtf8_isRefused() throws Exception {
      Path file = dir.resolve("latin1.conf");
      Files.write(file, new byte[] {'#', ' ', (byte) 0xe9, '\n'});

      FileSystemException e = assertThrows(FileSystemException.class, () -> ConfigText.read(file));
      assertEquals("not UTF-8 text", e.getReason());
    }
  }
}
