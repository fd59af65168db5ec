package dev.egress.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the lifecycle package alone and passes the SPI on. */
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
  void module_exportsExactlyTheCorePackage_unqualified_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.core", descriptor.name());
    assertEquals(Set.of("dev.egress.core"), exported(descriptor));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_passesTheApiOnToItsUsers_andNeedsNoBackend() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertTrue(
        requiresTransitively(descriptor, "dev.egress.api"),
        "RulesetEnforcer's signatures use the SPI's types");
    assertEquals(
        Set.of("java.base", "org.jspecify", "dev.egress.api", "org.slf4j"),
        descriptor.requires().stream()
            .map(ModuleDescriptor.Requires::name)
            .collect(Collectors.toSet()),
        "the lifecycle depends on no backend, resolver or process runner");
  }
}
