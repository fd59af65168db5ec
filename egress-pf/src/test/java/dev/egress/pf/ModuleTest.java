package dev.egress.pf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The compiled module descriptor exports the enforcer, the pfctl driver and the renderer, nothing
 * else.
 */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  private static Set<String> exported(ModuleDescriptor descriptor) {
    return descriptor.exports().stream()
        .map(ModuleDescriptor.Exports::source)
        .collect(Collectors.toSet());
  }

  private static boolean requiresTransitively(ModuleDescriptor descriptor, String module) {
    return descriptor.requires().stream()
        .anyMatch(
            r ->
                r.name().equals(module)
                    && r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE));
  }

  @Test
  void module_exportsTheEnforcerDriverAndRenderer_unqualified_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.pf", descriptor.name());
    assertEquals(
        Set.of("dev.egress.pf", "dev.egress.pf.pfctl", "dev.egress.pf.render"),
        exported(descriptor));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_passesTheCoreSeamAndTheProcessRunnerOn_andNeedsNoResolver() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertTrue(requiresTransitively(descriptor, "dev.egress.core"));
    assertTrue(
        requiresTransitively(descriptor, "dev.egress.process"), "Pfctl takes a ProcessRunner");
    assertTrue(
        descriptor.requires().stream().noneMatch(r -> r.name().equals("dev.egress.dns")),
        "the pf backend resolves through the NameResolver SPI, not dnsjava");
  }
}
