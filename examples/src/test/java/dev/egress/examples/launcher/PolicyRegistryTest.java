package dev.egress.examples.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicyText;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class PolicyRegistryTest {
  @TempDir Path dir;

  @Test
  void load_readsOneFilePerGroup_andIgnoresOtherFiles() throws Exception {
    Files.writeString(dir.resolve("main.policy"), "allow 192.0.2.1 port 443\n");
    Files.writeString(dir.resolve("README.md"), "not a policy");
    Files.writeString(dir.resolve("Bad Name.policy"), "allow 192.0.2.1 port 443\n");

    PolicyRegistry registry = PolicyRegistry.load(dir);

    assertEquals(Set.of("main"), registry.groups());
    assertEquals(PolicyText.parse("allow 192.0.2.1 port 443\n", "x"), registry.policyFor("main"));
  }

  @Test
  void policyFor_aGroupWithoutFile_saysWhichFileToCreate() throws Exception {
    PolicyRegistry registry = PolicyRegistry.load(dir);

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> registry.policyFor("ops"));

    assertTrue(e.getMessage().contains(dir.resolve("ops.policy").toString()), e.getMessage());
  }

  @Test
  void load_anInvalidFile_deniesEverythingForThatGroupOnly_andSaysWhere() throws Exception {
    Files.writeString(dir.resolve("main.policy"), "allow 192.0.2.1 port 443\n");
    Files.writeString(dir.resolve("ops.policy"), "allow 192.0.2.1 prot 443\n");

    PolicyRegistry registry = PolicyRegistry.load(dir);

    assertEquals(EgressPolicy.denyAll(), registry.policyFor("ops"));
    assertTrue(
        registry.problems().get("ops").contains("ops.policy:1:"), registry.problems().get("ops"));
    assertEquals(PolicyText.parse("allow 192.0.2.1 port 443\n", "x"), registry.policyFor("main"));
  }

  @Test
  @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void load_aFifoOrOversizedFile_deniesEverythingForThatGroup_atOnce_andSaysWhy() throws Exception {
    Files.writeString(dir.resolve("main.policy"), "allow 192.0.2.1 port 443\n");
    Process mkfifo = new ProcessBuilder("mkfifo", dir.resolve("ops.policy").toString()).start();
    assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo");
    try (RandomAccessFile big = new RandomAccessFile(dir.resolve("big.policy").toFile(), "rw")) {
      big.setLength(25L << 20);
    }

    PolicyRegistry registry = PolicyRegistry.load(dir);

    assertEquals(EgressPolicy.denyAll(), registry.policyFor("ops"));
    assertEquals(
        "cannot read policy file "
            + dir.resolve("ops.policy")
            + ": not a regular file (a FIFO, device or socket): a policy file must be one (the group denies everything until the file is fixed)",
        registry.problems().get("ops"));
    assertEquals(EgressPolicy.denyAll(), registry.policyFor("big"));
    assertTrue(
        registry.problems().get("big").contains("26214400 bytes: a policy file may hold at most"),
        registry.problems().get("big"));
    assertEquals(PolicyText.parse("allow 192.0.2.1 port 443\n", "x"), registry.policyFor("main"));
    assertEquals(List.of(), registry.reload());
  }

  @Test
  void reload_reportsNewChangedAndDeletedFiles_andNothingWhenNothingChanged() throws Exception {
    Files.writeString(dir.resolve("main.policy"), "allow 192.0.2.1 port 443\n");
    Files.writeString(dir.resolve("ops.policy"), "allow 192.0.2.2 port 22\n");
    PolicyRegistry registry = PolicyRegistry.load(dir);
    assertEquals(List.of(), registry.reload());

    Files.writeString(dir.resolve("main.policy"), "allow 192.0.2.1 port 443\n# same rules\n");
    Files.delete(dir.resolve("ops.policy"));
    Files.writeString(dir.resolve("docs.policy"), "allow 192.0.2.3 port 443\n");
    List<PolicyRegistry.Change> changes = registry.reload();

    assertEquals(
        List.of("docs", "ops"), changes.stream().map(PolicyRegistry.Change::group).toList());
    assertNull(changes.get(0).problem());
    assertEquals(EgressPolicy.denyAll(), changes.get(1).policy());
    assertTrue(changes.get(1).problem().contains("removed"));
    assertEquals(EgressPolicy.denyAll(), registry.policyFor("ops"));

    Files.writeString(dir.resolve("ops.policy"), "allow 192.0.2.2 port 22\n");
    assertEquals(
        List.of("ops"), registry.reload().stream().map(PolicyRegistry.Change::group).toList());
    assertEquals(Set.of(), registry.problems().keySet());
  }
}
