package dev.egress.daemon.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;

/**
 * Splits what a channel delivers into lines ending in {@code \n}, holding at most the longest line
 * allowed: a longer one is reported as soon as it exceeds the bound, so a 10 MB line costs no more
 * memory than a legal one. Not thread-safe.
 */
final class LineReader {
  /** What {@link #next} found. */
  sealed interface Result {}

  /** A complete line, without its newline. */
  record Line(byte[] bytes) implements Result {}

  /** The line grew past the bound before it ended. */
  record TooLong() implements Result {}

  /** The peer closed its side; {@code inLine} when it stopped in the middle of a line. */
  record Closed(boolean inLine) implements Result {}

  private final ReadableByteChannel channel;
  private final int maxLineBytes;
  private final ByteBuffer input = ByteBuffer.allocate(64 * 1024);
  private byte[] line = new byte[1024];
  private int lineLength;

  LineReader(ReadableByteChannel channel, int maxLineBytes) {
    this.channel = channel;
    this.maxLineBytes = maxLineBytes;
    input.flip(); // empty, ready to be read from
  }

  /** The next line, or why there is none; blocks until one of them is known. */
  Result next() throws IOException {
    while (true) {
      byte[] array = input.array();
      int start = input.position();
      int end = input.limit();
      for (int i = start; i < end; i++) {
        if (array[i] == '\n') {
          if (!append(array, start, i - start)) {
            return new TooLong();
          }
          input.position(i + 1);
          byte[] complete = Arrays.copyOf(line, lineLength);
          lineLength = 0;
          return new Line(complete);
        }
      }
      if (!append(array, start, end - start)) {
        return new TooLong();
      }
      input.clear();
      int read = channel.read(input);
      input.flip();
      if (read < 0) {
        return new Closed(lineLength > 0);
      }
    }
  }

  private boolean append(byte[] from, int offset, int length) {
    if (lineLength + length > maxLineBytes) {
      return false;
    }
    if (lineLength + length > line.length) {
      line =
          Arrays.copyOf(
              line, Math.min(maxLineBytes, Math.max(line.length * 2, lineLength + length)));
    }
    System.arraycopy(from, offset, line, lineLength, length);
    lineLength += length;
    return true;
  }
}
