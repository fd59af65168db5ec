package dev.egress.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one bounded read of a text file someone else may have written: policy files, egressd's
 * configuration and its state file. The file must be a regular file (symbolic links are followed);
 * its type and size are checked before reading and the size again while reading, and the bytes must
 * be strict UTF-8. So a FIFO, a device such as {@code /dev/zero}, a directory or a huge file is
 * refused at once rather than hang the reader or exhaust its memory.
 *
 * <p>A file swapped for a FIFO between the check and the open still blocks the open (Java cannot
 * open without blocking): keep such files in directories writable by their operator only.
 */
public final class TextFile {
  private TextFile() {}

  /**
   * The text of {@code file}.
   *
   * @param maxBytes the largest size accepted
   * @param what what the file is, for messages ({@code "policy file"})
   * @throws FileSystemException naming the file (escaped through {@link UserText#line}), with a
   *     reason fit for a message: {@link NoSuchFileException} when there is no file, {@link
   *     AccessDeniedException} when it may not be read; otherwise not a regular file, too large,
   *     not UTF-8 text, or the system's reason
   */
  public static String read(Path file, int maxBytes, String what) throws FileSystemException {
    String name = UserText.line(file.toString());
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (IOException e) {
      throw failure(name, e);
    }
    if (!attributes.isRegularFile()) {
      throw new FileSystemException(
          name,
          null,
          attributes.isDirectory()
              ? "a directory, not a " + what
              : "not a regular file (a FIFO, device or socket): a " + what + " must be one");
    }
    if (attributes.size() > maxBytes) {
      throw tooLarge(name, attributes.size() + " bytes", maxBytes, what);
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(maxBytes + 1);
    } catch (IOException e) {
      throw failure(name, e);
    }
    if (bytes.length > maxBytes) {
      throw tooLarge(name, "more than " + maxBytes + " bytes", maxBytes, what); // it grew since
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new FileSystemException(name, null, "not UTF-8 text");
    }
  }

  /** The failure to report for {@code name}; package-private so that root can test the mapping. */
  static FileSystemException failure(String name, IOException e) {
    if (e instanceof NoSuchFileException) {
      return new NoSuchFileException(name, null, "no such file");
    }
    if (e instanceof AccessDeniedException) {
      return new AccessDeniedException(name, null, "permission denied");
    }
    String reason =
        e instanceof FileSystemException system && system.getReason() != null
            ? system.getReason()
            : e.getMessage();
    return new FileSystemException(name, null, UserText.line(String.valueOf(reason)));
  }

  private static FileSystemException tooLarge(String name, String size, int maxBytes, String what) {
    return new FileSystemException(
        name, null, size + ": a " + what + " may hold at most " + maxBytes + " bytes");
  }
}
