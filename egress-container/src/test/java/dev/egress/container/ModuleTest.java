package dev.egress.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the runtime package, and no test framework is needed. */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void module_exportsExactlyTheContainerPackage_unqualified() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.container", descriptor.name());
    assertEquals(
        Set.of("dev.egress.container"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_requiresNoTestkit_soEgressctlCarriesNoTestFramework() throws Exception {
    Set<String> requires =
        descriptor().requires().stream()
            .map(ModuleDescriptor.Requires::name)
            .collect(Collectors.toSet());

    for (String testOnly : Set.of("dev.egress.testkit", "org.junit.jupiter.api", "net.jqwik.api")) {
      assertFalse(requires.contains(testOnly), testOnly + " is required: " + requires);
    }
  }
}
