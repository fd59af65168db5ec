package dev.egress.container;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A Docker daemon on a Unix socket that answers each request with what its script returns and
 * records the requests: one connection per request, as {@link EngineHttp} makes them.
 */
final class FakeEngine implements AutoCloseable {
  /** A request as it arrived. */
  record Request(String method, String target, String body) {
    String line() {
      return method + " " + target;
    }
  }

  private final ServerSocketChannel server;
  private final Path socket;
  private final Function<Request, byte[]> script;
  private final List<Request> requests = new ArrayList<>();
  private final Thread thread;

  FakeEngine(Path directory, Function<Request, byte[]> script) throws IOException {
    this.socket = directory.resolve("docker.sock");
    this.script = script;
    this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    this.thread = new Thread(this::serve, "fake-docker-engine");
    thread.setDaemon(true);
    thread.start();
  }

  Path socket() {
    return socket;
  }

  synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The first request whose line starts with {@code prefix}. */
  Request request(String prefix) {
    return requests().stream().filter(r -> r.line().startsWith(prefix)).findFirst().orElseThrow();
  }

  /** A response with a sized body. */
  static byte[] respond(int status, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return concat(
        ("HTTP/1.1 "
                + status
                + " X\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII),
        bytes);
  }

  /** A response whose body is sent in chunks of at most {@code size} bytes. */
  static byte[] chunked(int status, String body, int size) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(
        ("HTTP/1.1 " + status + " X\r\nTransfer-Encoding: chunked\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    for (int at = 0; at < bytes.length; at += size) {
      int n = Math.min(size, bytes.length - at);
      out.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(bytes, at, n);
      out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] both = new byte[a.length + b.length];
    System.arraycopy(a, 0, both, 0, a.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  private void serve() {
    while (server.isOpen()) {
      try (SocketChannel client = server.accept()) {
        Request request = read(client);
        synchronized (this) {
          requests.add(request);
        }
        ByteBuffer response = ByteBuffer.wrap(script.apply(request));
        while (response.hasRemaining()) {
          client.write(response);
        }
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private static Request read(SocketChannel client) throws IOException {
    ByteArrayOutputStream in = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocate(8192);
    int headEnd = -1;
    int length = 0;
    while (true) {
      if (client.read(buffer) < 0) {
        throw new IOException("the client closed mid-request");
      }
      in.write(buffer.array(), 0, buffer.position());
      buffer.clear();
      String text = in.toString(StandardCharsets.ISO_8859_1);
      if (headEnd < 0 && (headEnd = text.indexOf("\r\n\r\n")) >= 0) {
        for (String header : text.substring(0, headEnd).split("\r\n")) {
          if (header.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
            length = Integer.parseInt(header.substring(15).strip());
          }
        }
      }
      if (headEnd >= 0 && in.size() >= headEnd + 4 + length) {
        String[] line = text.substring(0, text.indexOf("\r\n")).split(" ");
        String body = new String(in.toByteArray(), headEnd + 4, length, StandardCharsets.UTF_8);
        return new Request(line[0], line[1], body);
      }
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    server.close();
    thread.join(5000);
    Files.deleteIfExists(socket);
  }
}
