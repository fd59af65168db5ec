package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.NetnsLab;
import dev.egress.testkit.LabRequirement;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The grant session against real {@code nft -i} and the kernel, in a {@link NetnsLab}'s host
 * namespace, on a table of its own: a grant applies, a grant line whose last command fails applies
 * none of it, concurrent grants all apply, and a grant line cut short applies nothing its whole
 * would not have (the claims of {@link NftSession}'s javadoc).
 */
class NftSessionKernelTest {
  private static final String TABLE = "inet sessiontest";
  private static final Pattern ADDRESS =
      Pattern.compile("(\\d+\\.\\d+\\.\\d+\\.\\d+|2001:db8::\\w+)");
  private static NetnsLab lab;

  @TempDir Path home;
  private NftSession session;

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(1, "nft");
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @BeforeEach
  void table() throws Exception {
    nft(
        "add table "
            + TABLE
            + "; add set "
            + TABLE
            + " s4 { type ipv4_addr; flags timeout; }; add set "
            + TABLE
            + " s6 { type ipv6_addr; flags timeout; }");
    session = new NftSession(lab.inHost("nft"), Duration.ofSeconds(30));
  }

  @AfterEach
  void dropTable() throws Exception {
    session.close();
    nft("delete table " + TABLE);
  }

  private static String nft(String commands) throws Exception {
    return lab.exec(lab.hostNamespace(), "nft", commands);
  }

  /** The addresses in set {@code set} of the test's table. */
  private static Set<String> elements(String set) throws Exception {
    String listing = nft("list set " + TABLE + " " + set);
    Set<String> addresses = new TreeSet<>();
    int elements = listing.indexOf("elements");
    if (elements >= 0) {
      Matcher matcher = ADDRESS.matcher(listing.substring(elements));
      while (matcher.find()) {
        addresses.add(matcher.group());
      }
    }
    return addresses;
  }

  /** A grant of {@code addresses} into {@code set}, as {@link NftRenderer#grant} renders one. */
  private static String grant(String set, String... addresses) {
    String element = "element " + TABLE + " " + set + " { ";
    String timed = String.join(" timeout 60000ms, ", addresses) + " timeout 60000ms }\n";
    return "add "
        + element
        + timed
        + "delete "
        + element
        + String.join(", ", addresses)
        + " }\nadd "
        + element
        + timed;
  }

  @Test
  void aGrant_putsItsAddressesInTheirSets_withTheirTimeouts() throws Exception {
    session.apply(grant("s4", "10.9.0.1") + grant("s6", "2001:db8::1"));

    assertEquals(Set.of("10.9.0.1"), elements("s4"));
    assertEquals(Set.of("2001:db8::1"), elements("s6"));
    assertTrue(nft("list set " + TABLE + " s4").contains("timeout 1m"));
  }

  @Test
  void aGrantWhoseLastCommandFails_appliesNoneOfIt_andTheNextGrantApplies() throws Exception {
    String failing =
        grant("s4", "10.9.0.2")
            + grant("s6", "2001:db8::2")
            + "delete element "
            + TABLE
            + " s4 { 10.9.0.99 }\n"; // not in the set: the kernel refuses the transaction

    NftException e = assertThrows(NftException.class, () -> session.apply(failing));

    assertEquals(NftException.Kind.MISSING_OBJECT, e.kind(), e.getMessage());
    assertEquals(Set.of(), elements("s4"));
    assertEquals(Set.of(), elements("s6"));
    session.apply(grant("s4", "10.9.0.3"));
    assertEquals(Set.of("10.9.0.3"), elements("s4"));
  }

  @Test
  void grantsFromManyThreads_allApply() throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(8);
    List<Future<?>> grants = new ArrayList<>();
    Set<String> granted = new TreeSet<>();
    try {
      for (int i = 1; i <= 80; i++) {
        String address = "10.9.1." + i;
        granted.add(address);
        grants.add(
            threads.submit(
                () -> {
                  session.apply(grant("s4", address));
                  return null;
                }));
      }
      for (Future<?> grant : grants) {
        grant.get();
      }
    } finally {
      threads.shutdownNow();
    }

    assertEquals(granted, elements("s4"));
  }

  /**
   * nft fed a grant line cut at every point, then end of file (its writer died), runs what it got
   * as a line. What that applies is never wider than the whole grant: the sets hold only the
   * earlier grant's address and addresses the whole grant adds; and a cut inside the first command
   * applies nothing at all.
   */
  @Test
  void aGrantLineCutShort_neverAppliesMoreThanTheWholeGrant() throws Exception {
    String line =
        String.join(
            "; ", (grant("s4", "10.9.2.2", "10.9.2.3") + grant("s6", "2001:db8::4")).split("\n"));
    Set<String> wholeV4 = Set.of("10.9.2.1", "10.9.2.2", "10.9.2.3");
    Set<String> wholeV6 = Set.of("2001:db8::4");
    int firstCommandEnd = line.indexOf('}');
    int prefixesApplied = 0;
    for (int cut = 1; cut < line.length(); cut += cut < firstCommandEnd ? 9 : 5) {
      nft("flush set " + TABLE + " s4; flush set " + TABLE + " s6");
      nft("add element " + TABLE + " s4 { 10.9.2.1 timeout 60s }"); // an earlier grant

      feedThenEndOfFile(line.substring(0, cut));

      Set<String> v4 = elements("s4");
      Set<String> v6 = elements("s6");
      String at = "cut after " + cut + " bytes: " + line.substring(0, cut);
      assertTrue(wholeV4.containsAll(v4), at + " left " + v4);
      assertTrue(wholeV6.containsAll(v6), at + " left " + v6);
      if (cut < firstCommandEnd) {
        assertEquals(Set.of("10.9.2.1"), v4, at);
        assertEquals(Set.of(), v6, at);
      }
      if (v4.size() > 1 || !v6.isEmpty()) {
        prefixesApplied++;
      }
    }
    assertTrue(prefixesApplied > 0, "nft ran none of the cut lines: the test proved nothing");
  }

  /** {@code nft -i} reading {@code text} from a pipe that then closes, as after a kill. */
  private void feedThenEndOfFile(String text) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(lab.inHost("nft", "-i")).redirectErrorStream(true);
    builder.environment().put("HOME", home.toString()); // nft writes its history there at EOF
    Process nft = builder.start();
    try (OutputStream input = nft.getOutputStream()) {
      input.write(text.getBytes(StandardCharsets.UTF_8));
    }
    nft.getInputStream().transferTo(OutputStream.nullOutputStream());
    assertTrue(nft.waitFor(30, TimeUnit.SECONDS), "nft read end of file and exited");
  }
}
