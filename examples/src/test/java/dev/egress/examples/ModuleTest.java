package dev.egress.examples;

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

/** The compiled module descriptor exports the launcher package, nothing else. */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void module_exportsExactlyTheLauncherPackage_unqualified() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.examples", descriptor.name());
    assertEquals(
        Set.of("dev.egress.examples.launcher"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_requiresTheApiTransitively_becauseTheLauncherTakesAnEgressEnforcer()
      throws Exception {
    ModuleDescriptor.Requires api =
        descriptor().requires().stream()
            .filter(r -> r.name().equals("dev.egress.api"))
            .findFirst()
            .orElseThrow();

    assertTrue(api.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE));
  }

  @Test
  void module_requiresNoTestFramework_soTheDemoJarCarriesNone() throws Exception {
    Set<String> requires =
        descriptor().requires().stream()
            .map(ModuleDescriptor.Requires::name)
            .collect(Collectors.toSet());

    assertTrue(requires.contains("dev.egress.lab"), "the demo runs on the lab: " + requires);
    for (String testOnly : Set.of("dev.egress.testkit", "org.junit.jupiter.api", "net.jqwik.api")) {
      assertFalse(requires.contains(testOnly), testOnly + " is required: " + requires);
    }
  }
}
