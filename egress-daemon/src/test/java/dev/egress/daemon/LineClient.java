package dev.egress.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A test's client of egressd: writes raw bytes or lines, and reads what comes back line by line on
 * a thread of its own, so that a read can wait with a timeout and the end of the stream is seen.
 */
final class LineClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String END = new String("end of stream");
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final SocketChannel channel;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private volatile boolean reading;

  private LineClient(SocketChannel channel, boolean read) {
    this.channel = channel;
    if (read) {
      startReading();
    }
  }

  static LineClient connect(Path socket) throws IOException {
    return new LineClient(open(socket), true);
  }

  /** A client that reads nothing until {@link #startReading} is called. */
  static LineClient connectWithoutReading(Path socket) throws IOException {
    return new LineClient(open(socket), false);
  }

  private static SocketChannel open(Path socket) throws IOException {
    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    return channel;
  }

  void startReading() {
    if (reading) {
      return;
    }
    reading = true;
    Thread reader = new Thread(this::readLoop, "test-client-reader");
    reader.setDaemon(true);
    reader.start();
  }

  private void readLoop() {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    try {
      while (channel.read(buffer) >= 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          byte b = buffer.get();
          if (b == '\n') {
            lines.add(line.toString(StandardCharsets.UTF_8));
            line.reset();
          } else {
            line.write(b);
          }
        }
        buffer.clear();
      }
    } catch (IOException e) {
      // the daemon closed the connection, or the test did
    }
    lines.add(END);
  }

  void send(String text) throws IOException {
    write(text.getBytes(StandardCharsets.UTF_8));
  }

  void write(byte[] bytes) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  /** Sends one request line and returns the answer line, parsed. */
  JsonNode request(String json) throws IOException {
    send(json + "\n");
    return next();
  }

  /** The next line, parsed; fails when the stream ends or nothing comes in time. */
  JsonNode next() {
    String line = nextLine(TIMEOUT);
    if (line == null) {
      throw new AssertionError("the connection ended where an answer was expected");
    }
    return parse(line);
  }

  /** The next line, or null when the stream ended; fails when nothing comes within {@code wait}. */
  String nextLine(Duration wait) {
    try {
      String line = lines.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
      if (line == null) {
        throw new AssertionError("nothing from egressd within " + wait);
      }
      if (line == END) {
        lines.add(END);
        return null;
      }
      return line;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /**
   * Whether the daemon closed the connection (after the lines already read) within {@code wait}.
   */
  boolean endsWithin(Duration wait) {
    return nextLine(wait) == null;
  }

  static JsonNode parse(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + line, e);
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
