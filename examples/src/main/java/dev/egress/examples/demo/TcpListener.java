package dev.egress.examples.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP listener in this process that accepts, counts and closes connections: a stand-in for a
 * service on the host, such as a credential proxy on a container network's gateway. Thread-safe.
 */
public final class TcpListener implements AutoCloseable {
  private final AtomicInteger accepted = new AtomicInteger();
  private final ServerSocket server;

  /**
   * @throws IOException if {@code address:port} cannot be bound
   */
  public TcpListener(InetAddress address, int port) throws IOException {
    server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(address, port));
    Thread thread =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try (Socket socket = server.accept()) {
                  accepted.incrementAndGet();
                } catch (IOException e) {
                  return; // closed
                }
              }
            },
            "tcp-listener-" + port);
    thread.setDaemon(true);
    thread.start();
  }

  /** How many connections were accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
