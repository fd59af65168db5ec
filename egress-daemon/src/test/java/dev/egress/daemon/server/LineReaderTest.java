package dev.egress.daemon.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class LineReaderTest {
  /** A channel that delivers {@code data} in chunks of the given sizes (cycling), then ends. */
  private static ReadableByteChannel chunked(byte[] data, List<Integer> chunks) {
    return new ReadableByteChannel() {
      int position;
      int chunk;

      @Override
      public int read(ByteBuffer target) {
        if (position == data.length) {
          return -1;
        }
        int size = Math.min(chunks.get(chunk++ % chunks.size()), data.length - position);
        size = Math.min(size, target.remaining());
        target.put(data, position, size);
        position += size;
        return size;
      }

      @Override
      public boolean isOpen() {
        return true;
      }

      @Override
      public void close() {}
    };
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Property
  void linesComeOutWhole_howeverTheBytesAreCut(
      @ForAll @Size(max = 20)
          List<@Size(max = 300) List<@IntRange(min = 'a', max = 'z') Integer>> lines,
      @ForAll @Size(min = 1, max = 5) List<@IntRange(min = 1, max = 70_000) Integer> chunks)
      throws Exception {
    ByteArrayOutputStream stream = new ByteArrayOutputStream();
    List<byte[]> expected = new ArrayList<>();
    for (List<Integer> line : lines) {
      byte[] bytes = new byte[line.size()];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = (byte) (int) line.get(i);
      }
      expected.add(bytes);
      stream.write(bytes);
      stream.write('\n');
    }
    LineReader reader = new LineReader(chunked(stream.toByteArray(), chunks), 300);

    for (byte[] line : expected) {
      assertArrayEquals(line, ((LineReader.Line) reader.next()).bytes());
    }
    assertEquals(new LineReader.Closed(false), reader.next());
  }

  @Test
  void aLineLongerThanTheBound_isReportedBeforeItsEnd() throws Exception {
    byte[] data = new byte[5000];
    Arrays.fill(data, (byte) 'x'); // no newline at all
    LineReader reader = new LineReader(chunked(data, List.of(100)), 1024);

    assertInstanceOf(LineReader.TooLong.class, reader.next());
  }

  @Test
  void aLineOfExactlyTheBound_isRead() throws Exception {
    byte[] line = new byte[1024];
    Arrays.fill(line, (byte) 'x');
    byte[] data = Arrays.copyOf(line, 1025);
    data[1024] = '\n';

    assertArrayEquals(
        line, ((LineReader.Line) new LineReader(chunked(data, List.of(7)), 1024).next()).bytes());
  }

  @Test
  void anEndInTheMiddleOfALine_isSaidSo() throws Exception {
    LineReader reader = new LineReader(chunked(bytes("{\"id\":1}\n{\"id\""), List.of(3)), 1024);

    assertArrayEquals(bytes("{\"id\":1}"), ((LineReader.Line) reader.next()).bytes());
    assertEquals(new LineReader.Closed(true), reader.next());
  }
}
