package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the audit package, unqualified, and nothing else. */
class ModuleTest {
  @Test
  void module_exportsOnlyDevEgressAudit() throws Exception {
    ModuleDescriptor descriptor;
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      descriptor = ModuleDescriptor.read(in);
    }

    assertEquals("dev.egress.audit", descriptor.name());
    assertEquals(
        Set.of("dev.egress.audit"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertEquals(
        Set.of(
            "java.base",
            "org.jspecify",
            "dev.egress.api",
            "dev.egress.core",
            "com.fasterxml.jackson.databind"),
        descriptor.requires().stream()
            .map(ModuleDescriptor.Requires::name)
            .collect(Collectors.toSet()));
  }
}
