package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.pf.render.AnchorNames;
import dev.egress.pf.render.ParentAnchor;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Every child anchor name the renderer makes is one the driver runs pfctl on, and one the
 * least-privilege wrapper of {@code egressctl sudoers} lets through (its child pattern starts with
 * a letter or digit): a container is never attachable through one and refused by the other.
 */
class ChildNameAgreementProperties {
  /** The wrapper's child component, as PfctlWrapper writes it into the script. */
  private static final Pattern WRAPPER_CHILD = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

  @Provide
  Arbitrary<String> ids() {
    return Arbitraries.oneOf(
        Arbitraries.strings()
            .withChars("-_.!/ ")
            .withCharRange('a', 'z')
            .withCharRange('0', '9')
            .ofMinLength(1)
            .ofMaxLength(80),
        Arbitraries.strings().all().ofMinLength(1).ofMaxLength(80),
        Arbitraries.strings()
            .withChars("-_")
            .withCharRange('a', 'c')
            .ofMinLength(1)
            .ofMaxLength(5)
            .map(tail -> "-" + tail));
  }

  @Property(tries = 500)
  void childName_isAcceptedByThePfctlDriverAndTheWrapper(@ForAll("ids") String id) {
    String name = AnchorNames.childName(id);
    String path = ParentAnchor.defaults().childPath(name);
    assertEquals(path, Pfctl.anchor(path));
    assertTrue(WRAPPER_CHILD.matcher(name).matches(), id + " -> " + name);
  }

  @Example
  void childName_ofAnIdStartingWithDashOrUnderscore_startsWithALetter() {
    for (String id : new String[] {"-", "-rf", "--all", "_hidden", "-a_b"}) {
      String name = AnchorNames.childName(id);
      assertTrue(name.startsWith("x") && name.contains("."), id + " -> " + name);
      assertEquals(name, Pfctl.anchor(name));
    }
  }
}
