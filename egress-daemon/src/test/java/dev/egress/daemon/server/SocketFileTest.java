package dev.egress.daemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.daemon.DaemonConfig.SocketMode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SocketFileTest {
  @TempDir Path directory;

  private static PosixFileAttributes attributes(Path path) throws IOException {
    return Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
  }

  @Test
  void theSocketGetsExactlyItsModeAndGroup_andNothingElseIsLeftInTheDirectory() throws Exception {
    Path socket = directory.resolve("run/egressd.sock");
    GroupPrincipal group =
        FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName("0");
    for (SocketMode mode : SocketMode.values()) {
      try (ServerSocketChannel server = SocketFile.listen(socket, mode, null, group)) {
        PosixFileAttributes attributes = attributes(socket);
        assertTrue(attributes.isOther(), "a socket");
        assertEquals(mode.permissions(), attributes.permissions());
        assertEquals(group, attributes.group());
        try (Stream<Path> files = Files.list(socket.getParent())) {
          assertEquals(List.of(socket), files.collect(Collectors.toList()), "no staging left");
        }
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
          assertTrue(client.isConnected(), "it listens at its path");
        }
      }
      SocketFile.remove(socket);
    }
    assertEquals(
        "rwxr-xr-x", PosixFilePermissions.toString(attributes(socket.getParent()).permissions()));
  }

  @Test
  void aStaleSocket_ofADaemonThatIsGone_isReplaced() throws Exception {
    Path socket = directory.resolve("egressd.sock");
    ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    dead.bind(UnixDomainSocketAddress.of(socket));
    dead.close(); // the file stays, as after kill -9

    try (ServerSocketChannel server = SocketFile.listen(socket, SocketMode.OWNER, null, null)) {
      assertEquals(SocketMode.OWNER.permissions(), attributes(socket).permissions());
    }
  }

  @Test
  void aSocketADaemonStillAnswers_isLeftAlone() throws Exception {
    Path socket = directory.resolve("egressd.sock");
    try (ServerSocketChannel running = SocketFile.listen(socket, SocketMode.OWNER, null, null)) {
      IOException e =
          assertThrows(
              IOException.class, () -> SocketFile.listen(socket, SocketMode.OWNER, null, null));
      assertTrue(e.getMessage().contains("another egressd is listening"), e.getMessage());
      try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
        assertTrue(client.isConnected(), "the running one still listens there");
      }
    }
  }

  @Test
  void aFileThatIsNotASocket_isNotReplaced() throws Exception {
    Path socket = directory.resolve("egressd.sock");
    Files.writeString(socket, "someone's data");

    IOException e =
        assertThrows(
            IOException.class, () -> SocketFile.listen(socket, SocketMode.OWNER, null, null));

    assertTrue(e.getMessage().contains("is not a socket"), e.getMessage());
    assertEquals("someone's data", Files.readString(socket));
  }

  @Test
  void aDirectoryOthersMayWriteTo_isRefused() throws Exception {
    Path shared = directory.resolve("shared");
    Files.createDirectory(shared);
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));

    IOException e =
        assertThrows(
            IOException.class,
            () -> SocketFile.listen(shared.resolve("egressd.sock"), SocketMode.OWNER, null, null));

    assertTrue(e.getMessage().contains("is writable by others"), e.getMessage());
  }

  @Test
  void aDirectoryOfAnotherUser_isRefused() throws Exception {
    Path theirs = directory.resolve("theirs");
    Files.createDirectory(theirs);
    try {
      Files.setOwner(
          theirs,
          FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("65534"));
    } catch (IOException notRoot) {
      org.junit.jupiter.api.Assumptions.abort("only root can give a directory away: " + notRoot);
    }

    IOException e =
        assertThrows(
            IOException.class,
            () -> SocketFile.listen(theirs.resolve("egressd.sock"), SocketMode.OWNER, null, null));

    assertTrue(
        e.getMessage().contains("it must belong to root or to egressd's user"), e.getMessage());
  }
}
