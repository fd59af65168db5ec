package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ModuleTest {

  @Test
  void module_exportsOnlyTheResolverAndFilterPackages_andReadsDnsjavaAndSlf4j() {
    ModuleDescriptor descriptor =
        ModuleFinder.of(Path.of("target/classes"))
            .find("dev.egress.dns")
            .orElseThrow()
            .descriptor();

    assertEquals(
        Set.of("dev.egress.dns", "dev.egress.dns.filter"),
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

  /**
   * The answer cache and what it is made of name no dnsjava type: their class files (nested classes
   * included) hold no reference to {@code org/xbill}. Only the adapter and the builder do.
   */
  @Test
  void answerCache_dependsOnNoDnsjavaClass() throws IOException {
    List<String> dnsjavaFree =
        List.of(
            "AnswerCache",
            "CachedName",
            "Knowledge",
            "FamilyState",
            "Answer",
            "Upstream",
            "Subscribers",
            "Timings",
            "AddressFamily",
            "UnusableAddress",
            "LookupError",
            "FailureKind",
            "NameStatus",
            "NameAnswer");
    Path classes = Path.of("target/classes/dev/egress/dns");
    List<Path> files;
    try (var listing = Files.list(classes)) {
      files =
          listing
              .filter(
                  file -> {
                    String simple = file.getFileName().toString().replaceFirst("[$.].*", "");
                    return dnsjavaFree.contains(simple);
                  })
              .toList();
    }
    assertTrue(files.size() >= dnsjavaFree.size(), files.toString());
    for (Path file : files) {
      String content = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
      assertTrue(!content.contains("org/xbill"), file + " refers to dnsjava");
    }
  }
}
