package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The compiled module descriptor exports the four testkit packages and opens nothing. */
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
  void module_exportsTheFourTestkitPackages_unqualified_andOpensNothing() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    assertEquals("dev.egress.testkit", descriptor.name());
    assertEquals(
        Set.of(
            "dev.egress.testkit",
            "dev.egress.testkit.pf",
            "dev.egress.testkit.dns",
            "dev.egress.testkit.container"),
        exported(descriptor));
    assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
    assertTrue(descriptor.opens().isEmpty(), "opens: " + descriptor.opens());
  }

  @Test
  void module_passesTheTestFrameworksOn_forTheKitsUsers_butNoBackend() throws Exception {
    ModuleDescriptor descriptor = descriptor();

    // The conformance kit's classes are JUnit tests and jqwik arbitraries: a user's test needs
    // both.
    assertTrue(requiresTransitively(descriptor, "org.junit.jupiter.api"));
    assertTrue(requiresTransitively(descriptor, "net.jqwik.api"));
    assertTrue(requiresTransitively(descriptor, "dev.egress.api"));
    assertTrue(
        descriptor.requires().stream()
            .noneMatch(r -> Set.of("dev.egress.pf", "dev.egress.nftables").contains(r.name())),
        "the kit tests backends through the SPI; it must not depend on one");
  }
}
