package dev.egress.daemon.server;

import dev.egress.daemon.DaemonConfig.SocketMode;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Creates the listening socket so that it is never reachable with a wider mode than configured.
 * Binding a Unix socket creates its file with the process's umask (0755 under the usual 022) and
 * listens at once; so the socket is bound inside a fresh directory that only this process's user
 * can enter, given its mode, owner and group there, and only then renamed to its path (an atomic
 * rename, which also replaces a stale socket of a daemon that was killed).
 *
 * <p>The socket's directory must not be writable by others (else another user could swap the
 * socket); it is created with mode 0755 when missing. A socket that still answers belongs to a
 * daemon that is running: it is left alone and the start fails.
 */
final class SocketFile {
  private static final Set<PosixFilePermission> PRIVATE =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> TRAVERSABLE =
      PosixFilePermissions.fromString("rwxr-xr-x");

  private SocketFile() {}

  /**
   * A server channel listening at {@code socket} with the given mode and ownership.
   *
   * @param owner the socket file's owner; null to keep this process's user
   * @param group the socket file's group; null to keep this process's group
   * @throws IOException saying what is wrong (an unsafe directory, a daemon already listening, a
   *     path that is not a socket) or what failed
   */
  static ServerSocketChannel listen(
      Path socket, SocketMode mode, @Nullable UserPrincipal owner, @Nullable GroupPrincipal group)
      throws IOException {
    Path directory = socket.toAbsolutePath().getParent();
    if (directory == null) {
      throw new IOException("the socket " + quoted(socket) + " needs a directory");
    }
    checkDirectory(directory);
    checkNotServing(socket);
    byte[] random = new byte[4];
    new SecureRandom().nextBytes(random);
    Path staging = directory.resolve(".egressd-" + HexFormat.of().formatHex(random));
    Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PRIVATE));
    Path staged = staging.resolve("s");
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(staged), 128);
      // By path (chmod, chown): a socket cannot be opened to change it through a descriptor. The
      // staging directory is this process's alone, so the path is the socket just bound.
      PosixFileAttributeView view =
          Files.getFileAttributeView(staged, PosixFileAttributeView.class);
      view.setPermissions(mode.permissions());
      if (owner != null) {
        view.setOwner(owner);
      }
      if (group != null) {
        view.setGroup(group);
      }
      Files.move(staged, socket, StandardCopyOption.ATOMIC_MOVE);
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    } finally {
      Files.deleteIfExists(staged);
      Files.deleteIfExists(staging);
    }
  }

  /** Removes the socket file if it is still ours (a socket); for a clean stop. */
  static void remove(Path socket) {
    try {
      if (isSocket(socket)) {
        Files.deleteIfExists(socket);
      }
    } catch (IOException e) {
      // Nothing listens on it any more; the next start replaces it.
    }
  }

  private static void checkDirectory(Path directory) throws IOException {
    if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(TRAVERSABLE));
    }
    PosixFileAttributes attributes =
        Files.readAttributes(directory, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    if (!attributes.isDirectory()) {
      throw new IOException(
          "the socket's directory " + quoted(directory) + " is not a directory (or a symlink)");
    }
    Set<PosixFilePermission> permissions = attributes.permissions();
    if (permissions.contains(PosixFilePermission.GROUP_WRITE)
        || permissions.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new IOException(
          "the socket's directory "
              + quoted(directory)
              + " is writable by others ("
              + PosixFilePermissions.toString(permissions)
              + "), who could replace the socket: give egressd a directory of its own, such as"
              + " /run/egressd");
    }
    UserPrincipal self =
        FileSystems.getDefault()
            .getUserPrincipalLookupService()
            .lookupPrincipalByName(System.getProperty("user.name"));
    UserPrincipal root =
        FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("0");
    if (!attributes.owner().equals(self) && !attributes.owner().equals(root)) {
      throw new IOException(
          "the socket's directory "
              + quoted(directory)
              + " belongs to "
              + attributes.owner().getName()
              + ", who could replace the socket: it must belong to root or to egressd's user");
    }
  }

  private static void checkNotServing(Path socket) throws IOException {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!isSocket(socket)) {
      throw new IOException(quoted(socket) + " exists and is not a socket: move it away");
    }
    try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      throw new IOException(
          "another egressd is listening at " + quoted(socket) + ": stop it first");
    } catch (java.net.ConnectException e) {
      // A socket nobody listens on: left by a daemon that was killed; replaced below.
    }
  }

  private static boolean isSocket(Path path) throws IOException {
    PosixFileAttributes attributes =
        Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return attributes.isOther();
  }

  private static String quoted(Path path) {
    return UserText.quote(path.toString());
  }
}
