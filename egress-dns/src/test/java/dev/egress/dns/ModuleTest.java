package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ModuleTest {

  @Test
  void module_exportsOnlyTheResolverPackage_andReadsDnsjavaAndSlf4j() {
    ModuleDescriptor descriptor =
        ModuleFinder.of(Path.of("target/classes"))
            .find("dev.egress.dns")
            .orElseThrow()
            .descriptor();

    assertEquals(
        Set.of("dev.egress.dns"),
        descriptor.exports().stream()
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet()));
    Set<String> requires =
        descriptor.requires().stream()
            .map(ModuleDescriptor.Requires::name)
            .collect(Collectors.toSet());
    assertTrue(
        requires.containsAll(Set.of("org.dnsjava", "org.slf4j", "dev.egress.api")),
        requires.toString());
  }
}
