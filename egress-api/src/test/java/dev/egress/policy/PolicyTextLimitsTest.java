package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Policy files and texts are bounded: what is too big or is not a file is refused, at once. */
class PolicyTextLimitsTest {

  @Nested
  class PolicyFiles {
    @TempDir Path directory;

    private String refusal(Path file) {
      FileSystemException e = assertThrows(FileSystemException.class, () -> PolicyText.read(file));
      assertEquals(file.toString(), e.getFile());
      return e.getReason();
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFifo_isRefused_withoutWaitingForAWriter() throws Exception {
      Path fifo = directory.resolve("agent.policy");
      Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
      assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo");

      assertEquals(
          "not a regular file (a FIFO, device or socket): a policy file must be one",
          refusal(fifo));
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void devZero_isRefused_directly_andThroughASymbolicLink() throws Exception {
      Path zero = Path.of("/dev/zero");
      assertTrue(refusal(zero).startsWith("not a regular file"));
      Path link = Files.createSymbolicLink(directory.resolve("agent.policy"), zero);
      assertTrue(refusal(link).startsWith("not a regular file"));
    }

    @Test
    void aDirectory_isRefused() {
      assertEquals("a directory, not a policy file", refusal(directory));
    }

    @Test
    void aFileAboveTheLimit_isRefused_beforeItIsRead() throws Exception {
      Path big = directory.resolve("big.policy");
      try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw")) {
        file.setLength(25L << 20); // sparse: 25 MiB that cost no disk
      }
      assertEquals("26214400 bytes: a policy file may hold at most 1048576 bytes", refusal(big));
    }

    @Test
    void aFileAtTheLimit_isRead() throws Exception {
      Path file = directory.resolve("agent.policy");
      String comment =
          "#" + "x".repeat(PolicyText.MAX_SIZE - "allow 10.0.0.1 port 443\n#".length());
      Files.writeString(file, "allow 10.0.0.1 port 443\n" + comment, StandardCharsets.UTF_8);
      assertEquals(PolicyText.MAX_SIZE, Files.size(file));

      assertEquals(
          EgressPolicy.builder().allowTcp(Destination.network("10.0.0.1"), 443).build(),
          PolicyText.read(file));
    }

    @Test
    void aMissingFile_isNoSuchFile() {
      Path missing = directory.resolve("missing.policy");
      NoSuchFileException e =
          assertThrows(NoSuchFileException.class, () -> PolicyText.readText(missing));
      assertEquals(missing + ": no such file", e.getMessage());
    }

    @Test
    void anUnreadableFile_isAccessDenied() {
      // Root reads any file, so the kernel's refusal is handed to the mapping directly.
      FileSystemException e =
          TextFile.failure("agent.policy", new AccessDeniedException("/tmp/x/agent.policy"));
      assertTrue(e instanceof AccessDeniedException);
      assertEquals("agent.policy: permission denied", e.getMessage());
    }

    @Test
    void aFileThatIsNotUtf8_isRefused() throws Exception {
      Path file = directory.resolve("agent.policy");
      Files.write(file, new byte[] {'d', 'n', 's', ' ', (byte) 0xff, '\n'});
      assertEquals("not UTF-8 text", refusal(file));
    }

    @Test
    void aFileNameWithControlCharacters_isEscapedInTheException() throws Exception {
      Path file = directory.resolve("a\u202Eb\nc.policy");
      FileSystemException e =
          assertThrows(FileSystemException.class, () -> PolicyText.readText(file));
      assertTrue(e.getFile().endsWith("a\\u202Eb\\u000Ac.policy"), e.getFile());
    }
  }

  @Nested
  class PolicyTexts {
    private List<PolicySyntaxException.Problem> problems(String text) {
      return assertThrows(PolicySyntaxException.class, () -> PolicyText.parse(text, "p"))
          .problems();
    }

    @Test
    void aTextAboveTheSizeLimit_isRefused_atItsFirstLine() {
      List<PolicySyntaxException.Problem> problems =
          problems("#" + "x".repeat(PolicyText.MAX_SIZE));
      assertEquals(
          List.of(
              "p:1:1: the policy is 1048577 characters long; a policy may hold at most 1048576"),
          problems.stream().map(Object::toString).toList());
    }

    @Test
    void tooManyLines_areRefused_atTheFirstLineBeyondTheLimit_beforeAnythingIsParsed() {
      String text = "bogus\n" + "\n".repeat(PolicyText.MAX_LINES);
      List<PolicySyntaxException.Problem> problems = problems(text);
      assertEquals(
          List.of(
              "p:20001:1: the policy has 20001 lines; a policy may have at most 20000 (comments"
                  + " and blank lines count)"),
          problems.stream().map(Object::toString).toList());
    }

    @Test
    void exactlyTheLimitOfLines_parses_withOrWithoutAFinalNewline() throws Exception {
      String lines = "# comment\n".repeat(PolicyText.MAX_LINES - 1) + "dns none";
      assertEquals(
          EgressPolicy.builder().dns(DnsRule.none()).build(), PolicyText.parse(lines, "p"));
      assertEquals(
          EgressPolicy.builder().dns(DnsRule.none()).build(), PolicyText.parse(lines + "\n", "p"));
    }

    @Test
    void tooManyAllowLines_areRefused_atTheFirstBeyondTheLimit_andParsingStops() {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i <= PolicyText.MAX_ALLOWANCES; i++) {
        text.append("allow 10.")
            .append(i / 256)
            .append('.')
            .append(i % 256)
            .append(".1 port 443\n");
      }
      text.append("bogus\n");
      List<PolicySyntaxException.Problem> problems = problems(text.toString());
      assertEquals(
          List.of(
              "p:10001:1: more than 10000 allow lines: a policy may have at most 10000 (name"
                  + " networks rather than many single addresses)"),
          problems.stream().map(Object::toString).toList());
    }

    @Test
    void exactlyTheLimitOfAllowLines_parses() throws Exception {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < PolicyText.MAX_ALLOWANCES; i++) {
        text.append("allow 10.")
            .append(i / 256)
            .append('.')
            .append(i % 256)
            .append(".1 port 443\n");
      }
      assertEquals(
          PolicyText.MAX_ALLOWANCES, PolicyText.parse(text.toString(), "p").allowances().size());
    }

    @Test
    void aDnsLineWithTooManyResolvers_isRefused_atTheFirstBeyondTheLimit() {
      String text = "dns" + " 10.0.0.1".repeat(PolicyText.MAX_DNS_SERVERS + 1);
      List<PolicySyntaxException.Problem> problems = problems(text);
      assertEquals(
          List.of("p:1:" + (4 + 9 * 16 + 1) + ": a 'dns' line may name at most 16 resolvers"),
          problems.stream().map(Object::toString).toList());
    }

    @Test
    void problems_stopAfterTheLimit_withOneMoreSayingSo() {
      List<PolicySyntaxException.Problem> problems = problems("bogus\n".repeat(1000));
      assertEquals(PolicyText.MAX_PROBLEMS + 1, problems.size());
      assertEquals(
          "p:100:1: stopped after 100 problems; fix those first",
          problems.get(PolicyText.MAX_PROBLEMS).toString());
    }
  }
}
