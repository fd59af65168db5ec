package dev.egress.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP port egressctl verify listens on, the "gateway service" its probes reach: it greets every
 * connection with one line and keeps it open until closed, so that a container's connection to it
 * can be held across a detach. Listening itself is the control of a refused gateway probe: the port
 * is open, so only a rule can refuse it. Thread-safe.
 */
final class ProbeListener implements AutoCloseable {
  /** The line every connection receives first; the held connection's check looks for it. */
  static final String GREETING = "egress-verify";

  private final ServerSocket server;
  private final List<Socket> accepted = new ArrayList<>();

  /** Listens on an ephemeral port of every address (the gateway's is known only later). */
  ProbeListener() throws IOException {
    this.server = new ServerSocket(0);
    Thread acceptor = new Thread(this::acceptAll, "egressctl-verify-listener");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  private void acceptAll() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        synchronized (accepted) {
          accepted.add(socket);
        }
        OutputStream out = socket.getOutputStream();
        out.write((GREETING + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } catch (IOException e) {
        if (server.isClosed()) {
          return;
        }
        // One connection failed (the peer went away): keep serving the others.
      }
    }
  }

  /** Stops listening and closes every connection. */
  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // Closing a listening socket fails only if it is already closed.
    }
    synchronized (accepted) {
      for (Socket socket : accepted) {
        try {
          socket.close();
        } catch (IOException e) {
          // Already closed by the peer.
        }
      }
      accepted.clear();
    }
  }
}
