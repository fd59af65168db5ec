package dev.egress.testkit.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

class TestDnsServerMainTest {
  @TempDir Path dir;

  @Test
  void main_servesTheZoneFileAndInlineLines_andRereadsTheFileWhenItChanges() throws Exception {
    Path zone = dir.resolve("zone.txt");
    Files.writeString(zone, "api.example.com 60 A 192.0.2.1\n");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                TestDnsServerMain.class.getName(),
                "--zone",
                zone.toString(),
                "inline.example.com 30 A 192.0.2.50")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String first = out.readLine();
      assertTrue(
          first != null && first.startsWith("listening on 127.0.0.1:"), String.valueOf(first));
      int port = Integer.parseInt(first.substring(first.lastIndexOf(':') + 1));
      SimpleResolver resolver =
          new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      resolver.setTimeout(Duration.ofSeconds(2));

      assertEquals("192.0.2.1", addressOf(resolver, "api.example.com"));
      assertEquals("192.0.2.50", addressOf(resolver, "inline.example.com"));

      Path next = dir.resolve("zone.next");
      Files.writeString(next, "api.example.com 60 A 192.0.2.2\n");
      Files.setLastModifiedTime(next, FileTime.from(Instant.now().plusSeconds(5)));
      Files.move(next, zone, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      assertEquals("reloaded " + zone, out.readLine());

      assertEquals("192.0.2.2", addressOf(resolver, "api.example.com"));
      assertEquals("192.0.2.50", addressOf(resolver, "inline.example.com"));
    } finally {
      process.destroy();
      process.waitFor();
    }
  }

  private static String addressOf(SimpleResolver resolver, String name) throws Exception {
    Message response =
        resolver.send(
            Message.newQuery(Record.newRecord(Name.fromString(name + "."), Type.A, DClass.IN)));
    assertEquals(Rcode.NOERROR, response.getRcode());
    List<Record> answer = response.getSection(Section.ANSWER);
    return ((ARecord) answer.get(0)).getAddress().getHostAddress();
  }
}
