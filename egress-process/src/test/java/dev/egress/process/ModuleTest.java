package dev.egress.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the runner's one package and needs only the JDK. */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void module_exportsExactlyTheProcessPackage_unqualified_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.process", descriptor.name());
    assertEquals(
        Set.of("dev.egress.process"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_requiresJspecifyStatically_andNothingElseButJavaBase() throws Exception {
    Set<ModuleDescriptor.Requires> requires = descriptor().requires();

    assertEquals(
        Set.of("java.base", "org.jspecify"),
        requires.stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet()));
    assertTrue(
        requires.stream()
            .filter(r -> r.name().equals("org.jspecify"))
            .allMatch(r -> r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC)));
  }
}
