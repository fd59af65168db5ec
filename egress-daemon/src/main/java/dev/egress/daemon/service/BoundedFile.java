package dev.egress.daemon.service;

import dev.egress.policy.UserText;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The daemon's own files (its configuration, its state) read as policy files are: a regular file,
 * its size checked before and while reading, strict UTF-8. A FIFO, a device, a directory or a huge
 * file is refused at once instead of hanging the daemon or filling its memory.
 */
public final class BoundedFile {
  private BoundedFile() {}

  /**
   * The text of {@code file}.
   *
   * @param maxBytes the largest size accepted
   * @param what what the file is, for messages ({@code "configuration file"})
   * @throws NoSuchFileException when there is no file
   * @throws FileSystemException naming the file and the reason: not a regular file, too large, not
   *     UTF-8, or the system's reason
   */
  public static String read(Path file, int maxBytes, String what) throws FileSystemException {
    String name = UserText.line(file.toString());
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(name, null, "no such file");
    } catch (IOException e) {
      throw failure(name, e);
    }
    if (!attributes.isRegularFile()) {
      throw new FileSystemException(name, null, "not a regular file: a " + what + " must be one");
    }
    if (attributes.size() > maxBytes) {
      throw tooLarge(name, maxBytes, what);
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(maxBytes + 1);
    } catch (IOException e) {
      throw failure(name, e);
    }
    if (bytes.length > maxBytes) {
      throw tooLarge(name, maxBytes, what); // it grew since
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

  private static FileSystemException tooLarge(String name, int maxBytes, String what) {
    return new FileSystemException(
        name, null, "larger than " + maxBytes + " bytes, the most a " + what + " may hold");
  }

  private static FileSystemException failure(String name, IOException e) {
    String reason =
        e instanceof FileSystemException system && system.getReason() != null
            ? system.getReason()
            : e.getMessage();
    return new FileSystemException(name, null, UserText.line(String.valueOf(reason)));
  }
}
