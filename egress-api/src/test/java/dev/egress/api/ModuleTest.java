package dev.egress.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the API and nothing else. */
class ModuleTest {
  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void module_isNamedDevEgressApi() throws Exception {
    assertEquals("dev.egress.api", descriptor().name());
  }

  @Test
  void module_exportsExactlyThePolicyEnforcerAndPlanPackages_unqualified() throws Exception {
    Set<ModuleDescriptor.Exports> exports = descriptor().exports();

    assertEquals(
        Set.of("dev.egress.policy", "dev.egress.enforcer", "dev.egress.plan"),
        exports.stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
    assertTrue(
        exports.stream().noneMatch(ModuleDescriptor.Exports::isQualified),
        "qualified exports: " + exports);
    assertTrue(descriptor().opens().isEmpty(), "opens: " + descriptor().opens());
  }

  @Test
  void module_requiresJspecifyStatically_andNothingElseButJavaBase() throws Exception {
    Set<ModuleDescriptor.Requires> requires = descriptor().requires();
    ModuleDescriptor.Requires jspecify =
        requires.stream()
            .filter(r -> r.name().equals("org.jspecify"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("org.jspecify is not required: " + requires));

    assertTrue(
        jspecify.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC),
        "org.jspecify must be 'requires static': " + jspecify);
    assertEquals(
        Set.of("java.base", "org.jspecify"),
        requires.stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet()));
  }
}
