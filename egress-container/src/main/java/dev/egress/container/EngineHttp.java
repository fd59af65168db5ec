package dev.egress.container;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * HTTP/1.1 to the Docker daemon over its Unix socket, for {@link DockerEngine}: one connection per
 * request ({@code Connection: close}), so a response ends where the stream ends, whether it is
 * sized, chunked or a raw exec stream. A request that takes longer than the timeout has its
 * connection closed and fails. Responses are read up to {@value #MAX_RESPONSE} bytes; a larger one
 * fails rather than exhausting memory. Thread-safe.
 */
final class EngineHttp {
  static final int MAX_RESPONSE = 16 << 20;

  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread thread = new Thread(r, "docker-engine-timeout");
            thread.setDaemon(true);
            return thread;
          });

  private final UnixDomainSocketAddress socket;
  private final Duration timeout;

  EngineHttp(Path socket, Duration timeout) {
    this.socket = UnixDomainSocketAddress.of(Objects.requireNonNull(socket, "socket"));
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    this.timeout = timeout;
  }

  Path socket() {
    return socket.getPath();
  }

  /** A response: its status and body (chunked encoding removed). */
  record Response(int status, byte[] body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /**
   * Sends {@code method target} with {@code json} as the body (none if null) and reads the whole
   * response.
   *
   * @throws ContainerCliException if the daemon cannot be reached, times out, answers what is not
   *     HTTP, or answers more than {@value #MAX_RESPONSE} bytes
   */
  Response send(String method, String target, @Nullable String json)
      throws ContainerCliException, InterruptedException {
    byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
    String head =
        method
            + " "
            + target
            + " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
            + (json == null ? "" : "Content-Type: application/json\r\n")
            + "Content-Length: "
            + body.length
            + "\r\n\r\n";
    AtomicBoolean timedOut = new AtomicBoolean();
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ScheduledFuture<?> watchdog =
          WATCHDOG.schedule(
              () -> {
                timedOut.set(true);
                closeQuietly(channel);
              },
              timeout.toMillis(),
              TimeUnit.MILLISECONDS);
      try {
        channel.connect(socket);
        writeFully(channel, head.getBytes(StandardCharsets.US_ASCII));
        writeFully(channel, body);
        return parse(readAll(channel, method + " " + target), method + " " + target);
      } finally {
        watchdog.cancel(false);
      }
    } catch (ClosedByInterruptException e) {
      Thread.interrupted();
      throw new InterruptedException(method + " " + target + " interrupted");
    } catch (IOException e) {
      if (timedOut.get()) {
        throw new ContainerCliException(
            method + " " + target + " timed out after " + timeout.toMillis() + " ms", e);
      }
      throw new ContainerCliException(
          method
              + " "
              + target
              + " failed: the Docker daemon at "
              + socket.getPath()
              + " cannot be reached ("
              + e
              + "; is Docker installed and its daemon running?)",
          e);
    }
  }

  private static void writeFully(SocketChannel channel, byte[] bytes) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  private static byte[] readAll(SocketChannel channel, String request)
      throws IOException, ContainerCliException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    while (channel.read(buffer) >= 0) {
      if (out.size() + buffer.position() > MAX_RESPONSE) {
        throw new ContainerCliException(
            request + ": the response is larger than " + MAX_RESPONSE + " bytes");
      }
      out.write(buffer.array(), 0, buffer.position());
      buffer.clear();
    }
    return out.toByteArray();
  }

  /** The status and body of a whole HTTP/1.1 response. */
  static Response parse(byte[] raw, String request) throws ContainerCliException {
    int headEnd = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
    if (headEnd < 0) {
      throw new ContainerCliException(request + ": the daemon's response has no complete head");
    }
    String[] head = new String(raw, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n");
    String[] statusLine = head[0].split(" ", 3);
    int status;
    try {
      status = statusLine.length >= 2 ? Integer.parseInt(statusLine[1]) : -1;
    } catch (NumberFormatException e) {
      status = -1;
    }
    if (!statusLine[0].startsWith("HTTP/1.") || status < 100 || status > 599) {
      throw new ContainerCliException(request + ": not an HTTP response: '" + head[0] + "'");
    }
    boolean chunked = false;
    int length = -1;
    for (int i = 1; i < head.length; i++) {
      int colon = head[i].indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = head[i].substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = head[i].substring(colon + 1).strip();
      if (name.equals("transfer-encoding")) {
        chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
      } else if (name.equals("content-length")) {
        length = unsigned(value, 10);
        if (length < 0) {
          throw new ContainerCliException(request + ": bad Content-Length '" + value + "'");
        }
      }
    }
    int start = headEnd + 4;
    if (chunked) {
      return new Response(status, dechunk(raw, start, request));
    }
    int end = raw.length;
    if (length >= 0) {
      if (length > raw.length - start) {
        throw new ContainerCliException(request + ": the response ended before its body did");
      }
      end = start + length;
    }
    byte[] body = new byte[end - start];
    System.arraycopy(raw, start, body, 0, body.length);
    return new Response(status, body);
  }

  private static byte[] dechunk(byte[] raw, int from, String request) throws ContainerCliException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = from;
    byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
    while (true) {
      int lineEnd = indexOf(raw, crlf, at);
      if (lineEnd < 0) {
        throw new ContainerCliException(request + ": a chunked response ended mid-chunk");
      }
      String sizeText = new String(raw, at, lineEnd - at, StandardCharsets.US_ASCII);
      int semicolon = sizeText.indexOf(';');
      int size =
          unsigned((semicolon < 0 ? sizeText : sizeText.substring(0, semicolon)).strip(), 16);
      if (size < 0) {
        throw new ContainerCliException(request + ": bad chunk size '" + sizeText + "'");
      }
      at = lineEnd + 2;
      if (size == 0) {
        return out.toByteArray();
      }
      // Compared so that it cannot overflow: a size near Integer.MAX_VALUE is only too long.
      if (size > raw.length - at - crlf.length) {
        throw new ContainerCliException(
            request
                + ": a chunked response ended mid-chunk (a chunk of "
                + size
                + " bytes, "
                + (raw.length - at)
                + " left)");
      }
      if (raw[at + size] != '\r' || raw[at + size + 1] != '\n') {
        throw new ContainerCliException(
            request + ": a chunk of " + size + " bytes is not followed by CRLF");
      }
      out.write(raw, at, size);
      at += size + crlf.length;
    }
  }

  /**
   * {@code text} as a number in {@code radix} if it is one: ASCII digits only (no sign, as HTTP's
   * sizes and lengths are written) and at most {@link Integer#MAX_VALUE}; otherwise -1.
   */
  private static int unsigned(String text, int radix) {
    if (text.isEmpty() || !text.chars().allMatch(c -> c < 0x80 && Character.digit(c, radix) >= 0)) {
      return -1;
    }
    try {
      return Integer.parseInt(text, radix);
    } catch (NumberFormatException tooLarge) {
      return -1;
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = from; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // The request fails on its own with the closed channel.
    }
  }
}
