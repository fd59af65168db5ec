package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.render.ParentAnchor;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever the container id and the configured parent, the child anchor's whole path loads (pfctl's
 * 63-character limit), distinct ids get distinct names, a safe id that fits is kept readable, and
 * the name is one the pfctl wrapper's pattern lets through.
 */
class AnchorNameProperties {

  @Provide
  Arbitrary<String> ids() {
    return Arbitraries.oneOf(
        Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(200),
        Arbitraries.strings()
            .withCharRange('a', 'f')
            .withCharRange('0', '9')
            .ofMinLength(1)
            .ofMaxLength(64),
        Arbitraries.strings()
            .withChars("-_.")
            .withCharRange('a', 'c')
            .ofMinLength(1)
            .ofMaxLength(60),
        Arbitraries.strings()
            .withChars("-_")
            .withCharRange('a', 'c')
            .ofMinLength(1)
            .ofMaxLength(5)
            .map(tail -> "-" + tail));
  }

  /** Valid parent paths, from one short component to the longest a parent may be. */
  @Provide
  Arbitrary<ParentAnchor> parents() {
    Arbitrary<String> component =
        Arbitraries.strings()
            .withCharRange('a', 'z')
            .withCharRange('0', '9')
            .withChars("_.-")
            .ofMinLength(0)
            .ofMaxLength(20)
            .map(tail -> "a" + tail);
    return component
        .list()
        .ofMinSize(1)
        .ofMaxSize(4)
        .map(components -> String.join("/", components))
        .filter(path -> path.length() <= ParentAnchor.MAX_PATH_LENGTH)
        .map(path -> new ParentAnchor(AnchorPath.of(path), null, false));
  }

  @Property(tries = 1000)
  void everyChildPathFits_andDistinctIdsGetDistinctNames(
      @ForAll("ids") String id,
      @ForAll("ids") String other,
      @ForAll("parents") ParentAnchor parent) {
    AnchorName name = parent.childName(ContainerId.of(id));
    AnchorPath path = parent.childPath(name);

    assertTrue(path.value().length() <= AnchorPath.MAX_LENGTH, path.value());
    assertTrue(path.value().matches(parent.path().childPattern()), path.value());
    assertEquals(name, parent.childName(ContainerId.of(id)), "deterministic");
    assertEquals(name, AnchorName.of(name), "the backend reads its own rule-set names");
    if (!id.equals(other)) {
      assertNotEquals(name, parent.childName(ContainerId.of(other)), id + " vs " + other);
    }
  }

  @Property(tries = 500)
  void aSafeIdThatFits_isKeptAsItsName(@ForAll("parents") ParentAnchor parent) {
    String id = "agent-" + "1".repeat(Math.max(0, parent.path().childNameBudget() - 6));
    assertEquals(id, parent.childName(ContainerId.of(id)).value());
  }
}
