package dev.egress.daemon;

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
 * The compiled module descriptor exports the configuration and entry point only: the protocol, the
 * server and the service stay inside.
 */
class ModuleTest {
  @Test
  void module_exportsOnlyItsConfigurationPackage_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor;
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      descriptor = ModuleDescriptor.read(in);
    }
    assertEquals("dev.egress.daemon", descriptor.name());
    assertEquals(
        Set.of("dev.egress.daemon"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertTrue(descriptor.opens().isEmpty());
  }
}
