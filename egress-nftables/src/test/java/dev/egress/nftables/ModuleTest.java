package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the enforcer package, unqualified, and opens nothing. */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void module_exportsExactlyTheNftablesPackage_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor = descriptor();
    assertEquals("dev.egress.nftables", descriptor.name());
    assertEquals(
        Set.of("dev.egress.nftables"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty());
  }

  @Test
  void module_passesTheCoreSeamOnToItsUsers() throws Exception {
    assertTrue(
        descriptor().requires().stream()
            .anyMatch(
                r ->
                    r.name().equals("dev.egress.core")
                        && r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE)),
        "NftBackend's signatures use dev.egress.core types");
  }
}
