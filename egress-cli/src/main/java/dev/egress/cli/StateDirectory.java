package dev.egress.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * The generator's half of the rule the pfctl wrapper applies at run time to its state directory:
 * only root may change it or anything above it. Checked on the machine {@code egressctl sudoers}
 * runs on, for the parts of the path that exist; the install commands it prints create the rest
 * root-owned with mode 700, and the wrapper checks the whole path again before every use.
 */
final class StateDirectory {
  private static final int WRITABLE_BY_GROUP_OR_OTHERS = 0022;
  private static final int STICKY = 01000;

  private StateDirectory() {}

  /**
   * @throws IllegalArgumentException if {@code directory} exists and is a symlink, not a directory,
   *     not owned by root or writable by group or others, or if a directory above it is not owned
   *     by root or is writable by group or others without being sticky (as /tmp is)
   */
  static void requireSafe(Path directory) {
    try {
      Path existing = directory;
      if (Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
        if (!Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)) {
          throw unsafe(directory, "it is not a directory (or is a symbolic link)");
        }
        String problem = problem(directory, false);
        if (problem != null) {
          throw unsafe(directory, problem);
        }
        existing = directory.getParent();
      }
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      for (Path above = existing == null ? null : existing.toRealPath();
          above != null;
          above = above.getParent()) {
        String problem = problem(above, true);
        if (problem != null) {
          throw unsafe(directory, above + " above it " + problem);
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot check the state directory " + directory + ": " + e.getMessage(), e);
    }
  }

  private static @Nullable String problem(Path directory, boolean stickyAllowed)
      throws IOException {
    int uid = (Integer) Files.getAttribute(directory, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    int mode = (Integer) Files.getAttribute(directory, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    if (uid != 0) {
      return "is owned by uid " + uid + ", not root";
    }
    if ((mode & WRITABLE_BY_GROUP_OR_OTHERS) != 0 && !(stickyAllowed && (mode & STICKY) != 0)) {
      return "is writable by group or others";
    }
    return null;
  }

  private static IllegalArgumentException unsafe(Path directory, String problem) {
    return new IllegalArgumentException(
        "the state directory "
            + directory
            + " must be one only root can change, but "
            + problem
            + ": choose another --state-dir (the default is /var/db/egressctl)");
  }
}
