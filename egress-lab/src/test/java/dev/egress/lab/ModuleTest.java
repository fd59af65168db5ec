package dev.egress.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleDescriptor.Requires.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The compiled module descriptor: the lab and its DNS server, and no test framework among the
 * modules it needs, so that what runs the lab (the demo) carries none.
 */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void module_exportsTheLabAndItsDnsServer_unqualified_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.lab", descriptor.name());
    assertEquals(
        Set.of("dev.egress.lab", "dev.egress.lab.dns"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_requiresNoTestFramework() throws Exception {
    Map<String, Set<Modifier>> requires =
        descriptor().requires().stream()
            .collect(Collectors.toMap(ModuleDescriptor.Requires::name, r -> r.modifiers()));

    assertEquals(
        Set.of("java.base", "org.jspecify", "dev.egress.api", "dev.egress.process", "org.dnsjava"),
        requires.keySet());
    assertTrue(requires.get("org.jspecify").contains(Modifier.STATIC));
    // LabContainer hands out ContainerEndpoints, LabNames is a NameResolver, ZoneText holds
    // dnsjava records: users of the lab see those types.
    assertTrue(requires.get("dev.egress.api").contains(Modifier.TRANSITIVE));
    assertTrue(requires.get("org.dnsjava").contains(Modifier.TRANSITIVE));
  }
}
