package dev.egress.enforcer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ContainerIdTest {
  /** A backend's rule-set name, as a backend would make one. */
  record Name(String value) implements RuleSetName {
    @Override
    public String toString() {
      return value;
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "has space", "tab\there", "ünïcode", "new\nline"})
  void ids_mustBePrintableAsciiWithoutSpaces(String id) {
    String message =
        assertThrows(IllegalArgumentException.class, () -> ContainerId.of(id)).getMessage();
    assertTrue(message.contains("printable ASCII"), message);
    assertTrue(message.lines().count() == 1, message);
  }

  @Test
  void aRefusedId_isQuotedEscapedAndCut() {
    String message =
        assertThrows(
                IllegalArgumentException.class, () -> ContainerId.of("a\u202Eb" + "x".repeat(3000)))
            .getMessage();
    assertTrue(
        message.endsWith(", got 'a\\u202Eb" + "x".repeat(72) + "...' (3003 characters)"), message);
  }

  @Test
  void ids_ofUpTo200Characters_areAccepted() {
    assertEquals(200, ContainerId.of("x".repeat(200)).value().length());
    assertThrows(IllegalArgumentException.class, () -> ContainerId.of("x".repeat(201)));
  }

  @Test
  void forAddress_isTheAddressText_soThatReconcileCanNameWhatAttachByAddressAttached() {
    assertEquals("192.168.64.3", ContainerId.forAddress(IpAddresses.parse("192.168.64.3")).value());
    assertEquals("fd00::3", ContainerId.forAddress(IpAddresses.parse("fd00:0::3")).value());
    assertEquals(
        ContainerEndpoint.of(IpAddresses.parse("10.0.0.7")).id(),
        ContainerId.forAddress(IpAddresses.parse("10.0.0.7")));
  }

  @Test
  void aContainerIdAndARuleSetNameOfTheSameText_areDifferentSubjects() {
    Subject container = Subject.container(ContainerId.of("agent-1"));
    Subject unowned = Subject.unowned(new Name("agent-1"));
    assertNotEquals(container, unowned);
    assertEquals("container agent-1", container.toString());
    assertEquals("rule set agent-1", unowned.toString());
  }

  @Test
  void failedOperations_readInLowerCase() {
    assertEquals("attach", EgressEvent.Operation.ATTACH.toString());
  }
}
