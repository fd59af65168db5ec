package dev.egress.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The compiled module descriptor exports the one package and needs only the API and Micrometer: no
 * backend, no enforcer implementation.
 */
class ModuleTest {
  @Test
  void module_exportsOnlyDevEgressMicrometer_andRequiresNoBackend() throws Exception {
    ModuleDescriptor descriptor;
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      descriptor = ModuleDescriptor.read(in);
    }

    assertEquals("dev.egress.micrometer", descriptor.name());
    assertEquals(
        Set.of("dev.egress.micrometer"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertEquals(
        Set.of("java.base", "org.jspecify", "dev.egress.api", "micrometer.core"),
        descriptor.requires().stream()
            .map(ModuleDescriptor.Requires::name)
            .collect(Collectors.toSet()));
  }
}
