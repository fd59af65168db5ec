package dev.egress.daemon.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.daemon.wire.PolicyName;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StateFileTest {
  @TempDir Path directory;

  @Test
  void whatIsWritten_isReadBack() throws Exception {
    StateFile state = new StateFile(directory.resolve("run/state.json"));
    List<StateFile.Saved> saved =
        List.of(
            new StateFile.Saved(
                new ContainerEndpoint(
                    ContainerId.of("c1"),
                    List.of(IpAddresses.parse("fd00::5"), IpAddresses.parse("10.213.0.5")),
                    IpAddresses.parse("10.213.0.1")),
                new PolicyName("agent"),
                "allow 192.0.2.10 port 443 proto tcp\ndns none\n",
                Instant.parse("2026-11-29T14:02:11.123Z")),
            new StateFile.Saved(
                new ContainerEndpoint(
                    ContainerId.of("c2"), List.of(IpAddresses.parse("10.213.0.6")), null),
                null,
                "dns none\n",
                Instant.parse("2026-11-29T14:03:00Z")));

    state.write(saved);

    assertEquals(saved, state.read());
    assertEquals(
        "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state.path())));
    try (var files = Files.list(state.path().getParent())) {
      assertEquals(List.of(state.path()), files.toList(), "no temporary file left");
    }
  }

  @Test
  void noFile_isNoAttachment() throws Exception {
    assertEquals(List.of(), new StateFile(directory.resolve("absent.json")).read());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "[]|not a JSON object",
        "{\"egressdState\":2,\"attachments\":[]}|not a version 1 state of egressd",
        "{\"egressdState\":1}|no attachments list",
        "{\"egressdState\":1,\"attachments\":[],\"extra\":1}|unknown field 'extra'",
        "{\"egressdState\":1,\"attachments\":[1]}|an attachment is not an object",
        "{\"egressdState\":1,\"attachments\":[{\"container\":{\"id\":\"c1\",\"addresses\":[\"10.213.0.5\"]},\"policy\":{\"text\":\"dns none\"},\"attachedAt\":\"yesterday\"}]}|attachment of c1",
        "{\"egressdState\":1,\"attachments\":[{\"container\":{\"id\":\"c1\",\"addresses\":[\"10.213.0.5\"]},\"policy\":{\"name\":\"../x\",\"text\":\"dns none\"},\"attachedAt\":\"2026-11-29T14:03:00.000Z\"}]}|is not a policy name",
        "{\"egressdState\":1,|not JSON",
      })
  void aFileThisDaemonDidNotWrite_isRefused_namingWhatIsWrong(String content, String reason)
      throws Exception {
    Path file = directory.resolve("state.json");
    Files.writeString(file, content);

    IOException e = assertThrows(IOException.class, () -> new StateFile(file).read());

    assertTrue(e.getMessage().startsWith("the state file " + file + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(reason), e.getMessage());
  }
}
