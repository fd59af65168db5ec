package dev.egress.examples.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicyText;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
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
