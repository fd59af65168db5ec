package dev.egress.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandTest {
  @Test
  void command_withoutProgram_isRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> new Command(List.of(), Duration.ofSeconds(1)));
  }

  @Test
  void command_withATimeoutThatIsNotPositive_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Command(List.of("true"), Duration.ZERO));
    assertThrows(
        IllegalArgumentException.class, () -> new Command(List.of("true"), Duration.ofMillis(-1)));
  }

  @Test
  void command_isShownAsAShellWouldNeedIt_andNeverWithItsInput() {
    Command command =
        new Command(
            List.of("sh", "-c", "echo 'a b'", "plain-1.2/x", ""),
            "secret input",
            Duration.ofSeconds(1));

    assertEquals("sh -c 'echo '\\''a b'\\''' plain-1.2/x ''", command.shown());
    assertEquals(command.shown(), command.toString());
    assertEquals("sh", command.program());
  }

  @Test
  void command_copiesItsArguments() {
    java.util.ArrayList<String> argv = new java.util.ArrayList<>(List.of("true"));
    Command command = new Command(argv, Duration.ofSeconds(1));
    argv.add("changed");
    assertEquals(List.of("true"), command.argv());
  }
}
