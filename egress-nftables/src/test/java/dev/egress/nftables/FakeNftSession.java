package dev.egress.nftables;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * A fake {@code nft} for {@code nft -i} sessions: a shell script that answers each line as nft 1.0
 * does, the way its {@link Mode} file says at that moment. A line starting with {@code :} (the
 * session's marker) gets nft's syntax error, echo and caret; any other line the mode's answer. It
 * logs its arguments, every line it reads and its pid (and that of any sleep it starts).
 */
final class FakeNftSession {
  /** How the fake answers a grant line. */
  enum Mode {
    /** Nothing, as nft prints for a committed transaction. */
    COMMIT,
    /** nft's error for a missing set, on standard error, with the line and a caret line. */
    REFUSE,
    /** One line nft would not print. */
    GARBAGE,
    /** A sleep in the background and no answer to anything. */
    HANG,
    /** Exits at once. */
    EXIT
  }

  private final Path dir;
  private final Path program;

  FakeNftSession(Path dir) throws IOException {
    this.dir = dir;
    this.program = dir.resolve("nft");
    mode(Mode.COMMIT);
    Files.writeString(
        program,
        String.join(
            "\n",
            "#!/bin/sh",
            "echo $$ >> " + dir.resolve("pids"),
            "echo \"HOME=$HOME $*\" > " + dir.resolve("args"),
            "while IFS= read -r line; do",
            "  printf '%s\\n' \"$line\" >> " + dir.resolve("log"),
            "  case \"$line\" in",
            "    :*) echo 'Error: syntax error, unexpected colon'; printf '%s\\n' \"$line\";"
                + " echo '^'; continue;;",
            "  esac",
            "  case $(cat " + dir.resolve("mode") + ") in",
            "    COMMIT) ;;",
            "    REFUSE) echo 'Error: Could not process rule: No such file or directory' >&2;"
                + " printf '%s\\n' \"$line\" >&2; echo '            ^^^^' >&2;;",
            "    GARBAGE) echo 'Segmentation fault? no: something else';;",
            "    HANG) sleep 300 & echo $! >> " + dir.resolve("pids") + "; wait;;",
            "    EXIT) exit 1;;",
            "  esac",
            "done",
            ""));
    Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
  }

  /** The nft command to give a session: the script; the session adds {@code -i}. */
  List<String> command() {
    return List.of(program.toString());
  }

  void mode(Mode mode) throws IOException {
    Files.writeString(dir.resolve("mode"), mode.name() + "\n");
  }

  /** The lines the fakes read so far, in order. */
  List<String> log() throws IOException {
    Path log = dir.resolve("log");
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  /** {@code HOME=...} and the arguments the last fake was started with. */
  String args() throws IOException {
    return Files.readString(dir.resolve("args")).strip();
  }

  /** The pids the fakes wrote: each started fake's, and each sleep's. */
  List<Long> pids() throws IOException {
    Path pids = dir.resolve("pids");
    List<Long> all = new ArrayList<>();
    if (Files.exists(pids)) {
      for (String line : Files.readAllLines(pids)) {
        all.add(Long.parseLong(line.strip()));
      }
    }
    return all;
  }

  /** Whether no process of the pids is alive (a zombie counts as gone). */
  boolean allGone() throws IOException {
    for (long pid : pids()) {
      if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !zombie(pid)) {
        return false;
      }
    }
    return true;
  }

  private static boolean zombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (IOException e) {
      return !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false); // no /proc
    }
  }

  /** Kills whatever a failing test left running. */
  void killAll() throws IOException {
    for (long pid : pids()) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }
}
