package dev.egress.cli;

import static dev.egress.cli.WrapperRig.framed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.render.LoadScope;
import dev.egress.pf.render.ParentAnchor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs the generated wrapper with bash, as the test's user (root in CI, as under sudo), against a
 * pfctl that records its arguments and standard input.
 */
class PfctlWrapperTest {
  private static final String PARENT = "com.apple/000.egress";
  private static final String CHILD = "com.apple/000.egress/agent-1";
  private static final String CHILD_LOAD =
      framed(
          "table <tcp_443> persist { 160.79.104.0/23, 2607:6bc0::10 }\n"
              + "pass in quick inet proto tcp from 192.168.64.3 to 192.168.64.1 port = 53\n"
              + "pass in quick inet proto tcp from 192.168.64.3 to <tcp_443> port = 443\n"
              + "block return in log quick inet from 192.168.64.3 to any\n"
              + "pass in quick inet6 proto tcp from fd00:64::3 to <tcp_443> port = 443\n"
              + "block return in log quick inet6 from fd00:64::3 to any\n");
  private static final String PARENT_LOAD =
      framed(
          "anchor \"*\"\n"
              + "block return in quick on ! lo0 inet from 192.168.64.0/24 to any\n"
              + "block return in quick on bridge100 all\n");
  private static final String TABLE_LOAD = framed("160.79.104.0/23\n2607:6bc0::10\n");

  @TempDir Path dir;
  private WrapperRig rig;

  @BeforeEach
  void writeScripts() throws Exception {
    rig = new WrapperRig(dir, WrapperRig.SCOPE);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "-s info",
        "-s rules",
        "-s state",
        "-a com.apple/000.egress -s rules",
        "-a com.apple/000.egress/agent-1 -s rules",
        "-a com.apple/000.egress/agent-1 -v -s rules",
        "-a com.apple/000.egress -s Anchors",
        "-a com.apple/000.egress/agent-1 -F all",
        "-a com.apple/000.egress/agent-1 -t tcp_443 -T show",
        "-k 192.168.64.3",
        "-k 0.0.0.0/0 -k 192.168.64.3",
        "-k fd00:64::3",
        "-k ::/0 -k fd00:64::3",
        "-a com.apple/000.egress/agent-1 -t n_api_example_0a1b2c3d -T add 203.0.113.7",
        "-a com.apple/000.egress/agent-1 -t n_api_example_0a1b2c3d -T add 203.0.113.7"
            + " 2001:db8::1 ::1",
        "-a com.apple/000.egress/agent-1 -t n_api_example_0a1b2c3d -T delete 203.0.113.7 ::1",
      })
  void wrapper_passesTheDriversCallsThroughUnchanged(String line) throws Exception {
    WrapperRig.Run run = rig.run(line.split(" "));

    assertEquals(0, run.exit(), run.stderr());
    assertEquals(List.of(line), rig.calls());
  }

  @Test
  void wrapper_passesTheThreeLoadsWithTheirTextUnchanged() throws Exception {
    WrapperRig.Run parent = rig.runWithInput(PARENT_LOAD, "-a", PARENT, "-f", "-");
    WrapperRig.Run child = rig.runWithInput(CHILD_LOAD, "-a", CHILD, "-f", "-");
    WrapperRig.Run table =
        rig.runWithInput(TABLE_LOAD, "-a", CHILD, "-t", "tcp_443", "-T", "replace", "-f", "-");

    for (WrapperRig.Run run : List.of(parent, child, table)) {
      assertEquals(0, run.exit(), run.stderr());
    }
    assertEquals(
        List.of(
            "-a " + PARENT + " -f -",
            "-a " + CHILD + " -f -",
            "-a " + CHILD + " -t tcp_443 -T replace -f -"),
        rig.calls());
    assertEquals(PARENT_LOAD, rig.stdinOf(1));
    assertEquals(CHILD_LOAD, rig.stdinOf(2));
    assertEquals(TABLE_LOAD, rig.stdinOf(3));
    assertEquals(List.of(), rig.stateFiles(""), "the checked copies are gone");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "-d",
        "-F all",
        "-F states",
        "-f /etc/pf.conf",
        "-f -",
        "-a com.apple/000.egress/agent-1 -F all -d",
        "-a com.apple/000.egress/agent-1 -f /etc/pf.conf",
        "-a com.apple/000.egress -F all",
        "-a com.apple -F all",
        "-a com.apple -f -",
        "-a com.apple/250.ApplicationFirewall -F all",
        "-a com.apple/* -F all",
        "-a com.apple/000.egress/agent-1/deeper -F all",
        "-a com.apple/other/agent-1 -f -",
        "-a com.apple/000.egress/.. -F all",
        "-a com.apple/000.egress/agent-1 -s rules -d",
        "-a com.apple/000.egress -v -s rules",
        "-a com.apple/000.egress/agent-1 -v -s rules -d",
        "-v -s rules",
        "-s info -d",
        "-s info -F all",
        "-s state -d",
        "-a com.apple/000.egress -s state",
        "-s states",
        "-E -d",
        "-k 0.0.0.0/0",
        "-k ::/0",
        "-k 0.0.0.0",
        "-k ::",
        "-k 10.0.0.0/8",
        "-k 10.0.0.1",
        "-k 192.168.65.3",
        "-k 192.168.64.0/24",
        "-k 192.168.64.3/32",
        "-k fd00:65::3",
        "-k fe80::1",
        "-k 0.0.0.0/0 -k 0.0.0.0/0",
        "-k 0.0.0.0/0 -k 10.0.0.1",
        "-k 0.0.0.0/0 -k fd00:64::3",
        "-k ::/0 -k 192.168.64.3",
        "-k 10.0.0.0/8 -k 192.168.64.3",
        "-k 192.168.64.3 -k 0.0.0.0/0",
        "-k attacker.example",
        "-X 12 -d",
        "-X -1",
        "-X",
        "-X 1",
        "-X 4242",
        "-e",
        "-a com.apple/000.egress/agent-1 -t x -T flush",
        "-a com.apple/000.egress/agent-1 -t x -T replace -f /etc/passwd",
        // Table grants wider than the DNS filter's:
        "-a com.apple/000.egress/agent-1 -t n_a -T add",
        "-a com.apple/000.egress/agent-1 -t n_a -T delete",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 10.0.0.0/8",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 0.0.0.0/0",
        "-a com.apple/000.egress/agent-1 -t n_a -T delete ::/0",
        "-a com.apple/000.egress/agent-1 -t n_a -T add evil.example",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 203.0.113.7 evil.example",
        "-a com.apple/000.egress/agent-1 -t n_a -T add -f /etc/passwd",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 203.0.113.7 -f /etc/passwd",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 203.0.113.7 -d",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 203.0.113.256",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 01.2.3.4",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 1.2.3",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 2001:db8:::1",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 2001:db8::1::2",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 1:2:3:4:5:6:7:8:9",
        "-a com.apple/000.egress/agent-1 -t n_a -T add ::ffff:1.2.3.4",
        "-a com.apple/000.egress/agent-1 -t N_A -T add 203.0.113.7",
        "-a com.apple/000.egress/agent-1 -t n_a -T replace 203.0.113.7",
        "-a com.apple/000.egress/agent-1 -t n_a -T test 203.0.113.7",
        "-a com.apple/000.egress/agent-1 -t n_a -T expire 0",
        "-a com.apple/000.egress/agent-1 -t n_a -T flush",
        "-a com.apple/000.egress/agent-1 -t n_a -T kill",
        "-a com.apple/000.egress -t n_a -T add 203.0.113.7",
        "-a com.apple/250.ApplicationFirewall -t n_a -T add 203.0.113.7",
        "-a com.apple/000.egress/agent-1/deeper -t n_a -T add 203.0.113.7",
        "-t n_a -T add 203.0.113.7",
        "-T add 203.0.113.7",
        "-a com.apple/000.egress/agent-1 -T add 203.0.113.7",
        "-a com.apple/000.egress/agent-1 -t n_a -T add 203.0.113.7 -t n_b",
      })
  void wrapper_refusesEverythingElseWithoutRunningPfctl(String line) throws Exception {
    WrapperRig.Run run = rig.run(line.split(" "));

    assertEquals(64, run.exit(), run.stderr());
    assertTrue(run.stderr().startsWith("egressctl-pfctl: refused: "), run.stderr());
    assertEquals(List.of(), rig.calls());
  }

  @Test
  void wrapper_passesATableGrantOfTheMostAddresses_andRefusesOneMore() throws Exception {
    List<String> args = new java.util.ArrayList<>(List.of("-a", CHILD, "-t", "n_a", "-T", "add"));
    for (int i = 0; i < dev.egress.pf.pfctl.Pfctl.MAX_TABLE_ADDRESSES; i++) {
      args.add("10.0." + (i / 256) + "." + (i % 256));
    }
    WrapperRig.Run most = rig.run(args.toArray(String[]::new));
    args.add("10.1.0.0");
    WrapperRig.Run oneMore = rig.run(args.toArray(String[]::new));

    assertEquals(0, most.exit(), most.stderr());
    assertEquals(64, oneMore.exit(), oneMore.stderr());
    assertEquals(1, rig.calls().size());
  }

  @Test
  void wrapper_refusesTheFiveLinesOfIssue18InEveryLoad_andNothingReachesPfctl() throws Exception {
    for (String line : WrapperRig.S1_LINES) {
      for (String[] call :
          List.of(
              new String[] {"-a", PARENT, "-f", "-"},
              new String[] {"-a", CHILD, "-f", "-"},
              new String[] {"-a", CHILD, "-t", "tcp_443", "-T", "replace", "-f", "-"})) {
        for (String text : List.of(framed(line + "\n"), framed("10.0.0.1\n" + line + "\n"))) {
          WrapperRig.Run run = rig.runWithInput(text, call);

          assertEquals(64, run.exit(), line + ": " + run.stderr());
          assertTrue(run.stderr().contains("is not a line egress-pf writes"), run.stderr());
        }
      }
    }
    assertEquals(List.of(), rig.calls());
    assertEquals(List.of(), rig.stateFiles("load."), "refused loads leave no file behind");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "pass in quick inet proto tcp from 10.0.0.5 to any port = 443",
        "pass in quick inet proto tcp from 192.168.65.3 to any port = 443",
        "pass in quick inet6 proto tcp from fd00:65::3 to any port = 443",
        "pass in quick inet6 proto tcp from fd00:64::3:: to any port = 443",
        "pass in quick inet6 proto tcp from fd00:64:0:0:0:0:0:3:1 to any port = 443",
        "block return in quick inet from 10.0.0.5 to any",
        "pass in quick inet proto tcp from 192.168.64.0/24 to any port = 443",
        "pass in quick all",
        "pass in quick on en0 inet proto tcp from 192.168.64.3 to any port = 443",
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443 route-to (en0 1.2.3.4)",
        "pass in quick inet proto tcp from 192.168.64.3 to evil.example port = 443",
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443 # comment",
        "pass in quick inet proto tcp from 192.168.64.3 \\",
        "table <t> persist { 10.0.0.1 } file \"/etc/master.passwd\"",
        "table <t> persist { !10.0.0.1 }",
        "anchor \"*\"",
        "",
        "# egress-pf: end of load",
      })
  void wrapper_refusesChildLoadsWithAnyOtherLine(String line) throws Exception {
    WrapperRig.Run run =
        rig.runWithInput(
            CHILD_LOAD.replace(
                "block return in log quick inet from",
                line + "\nblock return in log quick inet from"),
            "-a",
            CHILD,
            "-f",
            "-");

    assertEquals(64, run.exit(), run.stderr());
    assertTrue(run.stderr().contains("line 4 "), run.stderr());
    assertEquals(List.of(), rig.calls());
  }

  @Test
  void wrapper_loadsARedirectOnlyToTheDnsFilter() throws Exception {
    String block = "block return in log quick inet from";
    String redirect = "rdr inet proto udp from 192.168.64.3 to any port = 53 -> %s port 53\n";
    String toFilter = CHILD_LOAD.replace(block, redirect.formatted("192.168.64.1") + block);
    String elsewhere = CHILD_LOAD.replace(block, redirect.formatted("192.168.64.2") + block);
    Path other = Files.createDirectories(dir.resolve("no-filter"));
    WrapperRig noFilter =
        new WrapperRig(
            other, new LoadScope(WrapperRig.SCOPE.networks(), WrapperRig.SCOPE.bridges()));

    WrapperRig.Run refused = rig.runWithInput(elsewhere, "-a", CHILD, "-f", "-");
    assertEquals(64, refused.exit(), refused.stderr());
    assertTrue(refused.stderr().contains("'192.168.64.2'"), refused.stderr());
    assertEquals(List.of(), rig.calls());
    WrapperRig.Run withoutFilter = noFilter.runWithInput(toFilter, "-a", CHILD, "-f", "-");
    assertEquals(64, withoutFilter.exit(), withoutFilter.stderr());
    assertTrue(withoutFilter.stderr().contains("DNS filter (none)"), withoutFilter.stderr());
    assertEquals(List.of(), noFilter.calls());
    WrapperRig.Run loaded = rig.runWithInput(toFilter, "-a", CHILD, "-f", "-");
    assertEquals(0, loaded.exit(), loaded.stderr());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "block return in quick on en0 all",
        "block return in quick on bridge101 all",
        "block return in quick on ! lo0 inet from 10.0.0.0/8 to any",
        "block return in quick on ! lo0 inet from 192.168.0.0/16 to any",
        "pass in quick on bridge100 all",
        "anchor \"com.apple/*\"",
      })
  void wrapper_refusesParentLoadsWithAnyOtherLine(String line) throws Exception {
    WrapperRig.Run run =
        rig.runWithInput(framed("anchor \"*\"\n" + line + "\n"), "-a", PARENT, "-f", "-");

    assertEquals(64, run.exit(), run.stderr());
    assertTrue(run.stderr().contains("line 2 "), run.stderr());
    assertEquals(List.of(), rig.calls());
  }

  @Test
  void wrapper_refusesLoadsCutShortOrWithStrayBytes() throws Exception {
    for (String text :
        List.of(
            "",
            CHILD_LOAD.substring(0, CHILD_LOAD.length() - 1),
            CHILD_LOAD.substring(0, CHILD_LOAD.indexOf("# egress-pf")),
            CHILD_LOAD + "pass in quick all\n",
            CHILD_LOAD.replace("port = 443", "port = 443\t"),
            CHILD_LOAD.replace("port = 443", "port = 443\r"),
            CHILD_LOAD.replace("port = 443", "port = 443\0"),
            CHILD_LOAD.replace("port = 443", "port = 443\u202e"))) {
      WrapperRig.Run run = rig.runWithInput(text, "-a", CHILD, "-f", "-");

      assertEquals(64, run.exit(), text + ": " + run.stderr());
    }
    assertEquals(List.of(), rig.calls());
  }

  @Test
  void wrapper_passesTheLongestChildPathsTheLibraryMakes_andRefusesLongerOnes() throws Exception {
    ParentAnchor parent = ParentAnchor.defaults();
    String dockerId = "8f14e45fceea167a5a36dedd4bea2543aa1f3c3b1e5c1f0e3f2b9a1c4d5e6f70";
    String longest = parent.childPath(parent.childName(ContainerId.of(dockerId))).value();
    assertEquals(63, longest.length());

    WrapperRig.Run load = rig.runWithInput(CHILD_LOAD, "-a", longest, "-f", "-");
    WrapperRig.Run tooLong = rig.runWithInput(CHILD_LOAD, "-a", longest + "0", "-f", "-");

    assertEquals(0, load.exit(), load.stderr());
    assertEquals(64, tooLong.exit(), "pfctl could not load it, so the wrapper never passes it");
    assertEquals(List.of("-a " + longest + " -f -"), rig.calls());
  }

  @Test
  void wrapper_refusesArgumentsThatHideSpacesOrNewlines() throws Exception {
    for (String[] args :
        List.of(
            new String[] {"-a", CHILD + " -F all", "-s", "rules"},
            new String[] {"-a", CHILD, "-F", "all\n-d"},
            new String[] {"-s", "info "},
            new String[] {"-a", CHILD, "-t", "x", "-T", "show", ""},
            new String[] {})) {
      WrapperRig.Run run = rig.run(args);

      assertEquals(64, run.exit(), String.join("|", args) + ": " + run.stderr());
    }
    assertEquals(List.of(), rig.calls());
  }

  @Test
  void wrapper_passesEnable_butRefusesEveryRelease() throws Exception {
    WrapperRig.Run enable = rig.run("-E");
    assertEquals(0, enable.exit(), enable.stderr());
    assertTrue(
        enable.stderr().contains("Token : 4242"), "the driver reads the token from the output");

    WrapperRig.Run release = rig.run("-X", "4242");

    assertEquals(64, release.exit(), "not even the token the wrapper's own -E took");
    assertTrue(release.stderr().contains("can switch pf off"), release.stderr());
    assertEquals(List.of("-E"), rig.calls());
  }

  /** Issue 18, S2: a link planted in a state directory others can write. */
  @Test
  void wrapper_withAStateDirectoryOthersCanWrite_refusesAndWritesNothing() throws Exception {
    Path state = rig.stateDirectory();
    Files.createDirectory(state);
    Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path victim = Files.writeString(dir.resolve("sudoers"), "root ALL=(ALL) ALL\n");
    Files.createSymbolicLink(state.resolve("load.new"), victim);

    WrapperRig.Run run = rig.runWithInput(CHILD_LOAD, "-a", CHILD, "-f", "-");

    assertEquals(64, run.exit(), run.stderr());
    assertTrue(run.stderr().contains("can be changed by others than root"), run.stderr());
    assertEquals("root ALL=(ALL) ALL\n", Files.readString(victim));
    assertEquals(
        List.of(state.resolve("load.new")),
        rig.stateFiles("load."),
        "refused before a file was made there");
    assertEquals(
        List.of(), rig.calls(), "pf was not touched: the load could not be checked safely");
  }

  @Test
  void wrapper_withAStateDirectoryThatIsALink_refusesAndCallsNothing() throws Exception {
    Path safe = Files.createDirectory(dir.resolve("elsewhere"));
    Files.createSymbolicLink(rig.stateDirectory(), safe);

    WrapperRig.Run run = rig.runWithInput(CHILD_LOAD, "-a", CHILD, "-f", "-");

    assertEquals(64, run.exit(), run.stderr());
    assertEquals(List.of(), rig.calls());
    try (var left = Files.list(safe)) {
      assertEquals(0, left.count(), "nothing is made through the link");
    }
  }

  @Test
  void wrapper_belowADirectoryOthersCanWrite_refuses_butASymlinkToASafeOneIsFollowed()
      throws Exception {
    Path open = Files.createDirectory(dir.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path safe = Files.createDirectory(dir.resolve("safe"));
    Files.createSymbolicLink(dir.resolve("link"), safe);
    for (Path stateDirectory : List.of(open.resolve("state"), dir.resolve("link/state"))) {
      Path wrapper = dir.resolve("w");
      Files.writeString(
          wrapper,
          new PfctlWrapper(
                  dir.resolve("pfctl").toString(),
                  ParentAnchor.defaults(),
                  stateDirectory.toString(),
                  WrapperRig.SCOPE)
              .script());
      Process process =
          new ProcessBuilder("bash", wrapper.toString(), "-a", CHILD, "-f", "-").start();
      try (var stdin = process.getOutputStream()) {
        stdin.write(CHILD_LOAD.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        // The refused case exits without reading its input: the pipe may be closed by then.
      }
      String stderr = new String(process.getErrorStream().readAllBytes());
      process.waitFor();

      if (stateDirectory.startsWith(open)) {
        assertEquals(64, process.exitValue(), stderr);
        assertTrue(stderr.contains(open + " can be changed by others than root"), stderr);
        assertFalse(Files.exists(open.resolve("state")), "nothing is created there");
      } else {
        assertEquals(0, process.exitValue(), stderr);
        assertTrue(Files.isDirectory(safe.resolve("state")), "the state directory is made there");
        assertEquals(List.of("-a " + CHILD + " -f -"), rig.calls());
      }
    }
  }

  @Test
  void wrapper_refusesParentAnchorNotStrictlyBelowComApple() {
    for (String path : List.of("egress", "com.apple", "com.applex/egress")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new PfctlWrapper(
                      "/sbin/pfctl",
                      new ParentAnchor(AnchorPath.of(path), null, false),
                      "/var/db/egressctl",
                      WrapperRig.SCOPE));
      assertTrue(e.getMessage().contains("is not below com.apple/"), e.getMessage());
    }
  }

  @Test
  void wrapper_refusesPathsWithShellCharactersOrDotComponents() {
    for (List<String> paths :
        List.of(
            List.of("/sbin/pfctl'; rm -rf /'", "/var/db/egressctl"),
            List.of("/sbin/pfctl", "/var/db/../tmp"),
            List.of("/sbin/pfctl", "var/db/egressctl"),
            List.of("/sbin/pfctl", "/var/db/egressctl/"),
            List.of("/sbin/pfctl", "/"))) {
      assertThrows(
          IllegalArgumentException.class,
          () ->
              new PfctlWrapper(
                  paths.get(0), ParentAnchor.defaults(), paths.get(1), WrapperRig.SCOPE),
          paths.toString());
    }
  }
}
