// A client of egressd for PeerCredentialTest, run as another user with `java PeerProbe.java`:
// sends one version request and prints every line it receives, then "<closed>" if egressd closes
// the connection (or "<open>" after the first line when it was asked to stop there).
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

public class PeerProbe {
  public static void main(String[] args) throws Exception {
    boolean firstLineOnly = args[1].equals("first-line");
    try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(Path.of(args[0])))) {
      channel.write(
          ByteBuffer.wrap("{\"id\":1,\"command\":\"version\"}\n".getBytes(StandardCharsets.UTF_8)));
      ByteBuffer buffer = ByteBuffer.allocate(65536);
      StringBuilder received = new StringBuilder();
      while (true) {
        if (channel.read(buffer) < 0) {
          System.out.print(received + "<closed>\n");
          return;
        }
        buffer.flip();
        received.append(StandardCharsets.UTF_8.decode(buffer));
        buffer.clear();
        if (firstLineOnly && received.indexOf("\n") >= 0) {
          System.out.print(received + "<open>\n");
          return;
        }
      }
    }
  }
}
