package dev.egress.cli;

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
 * The compiled module descriptor exports nothing (egressctl is a program) and opens its package to
 * picocli alone.
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
  void module_exportsNothing_andOpensItsPackageToPicocliOnly() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.cli", descriptor.name());
    assertEquals(Set.of(), exported(descriptor));
    assertEquals(1, descriptor.opens().size(), "opens: " + descriptor.opens());
    ModuleDescriptor.Opens opens = descriptor.opens().iterator().next();
    assertEquals("dev.egress.cli", opens.source());
    assertEquals(Set.of("info.picocli"), opens.targets(), "picocli reads the commands' options");
  }

  @Test
  void module_requiresNothingTransitively() throws Exception {
    assertTrue(
        descriptor().requires().stream()
            .noneMatch(r -> r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE)),
        "nothing depends on egressctl's module");
  }
}
