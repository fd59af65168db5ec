package dev.egress.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A {@link LabAgent} process running in one namespace, asked one command at a time. It talks over
 * its pipes for as long as the lab lives, so it is started here rather than run to completion by
 * the process runner; {@link #close} ends it (it is {@code java} itself: {@code ip netns exec}
 * execs it).
 */
final class Agent implements AutoCloseable {
  private static final String EOF = "\u0000eof";
  private static final int STDERR_KEPT = 64 * 1024;

  private final String namespace;
  private final Process process;
  private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  private final StringBuilder stderr = new StringBuilder();

  private Agent(String namespace, Process process) {
    this.namespace = namespace;
    this.process = process;
    readLines(process.getInputStream(), "lab-agent-" + namespace, replies::add, EOF);
    // The head of what the agent prints on stderr, for the message when it dies.
    readLines(
        process.getErrorStream(),
        "lab-agent-err-" + namespace,
        line -> {
          synchronized (stderr) {
            if (stderr.length() < STDERR_KEPT) {
              stderr.append(line).append('\n');
            }
          }
        },
        "");
  }

  /**
   * Hands each line of {@code stream} to {@code sink} on a daemon thread, then {@code last} (unless
   * empty) when the stream ends: the agent exited or died.
   */
  private static void readLines(
      InputStream stream, String threadName, Consumer<String> sink, String last) {
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                  sink.accept(line);
                }
              } catch (IOException e) {
                // The agent died; what was read is all there is, and ask() reports it.
              }
              if (!last.isEmpty()) {
                sink.accept(last);
              }
            },
            threadName);
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts the agent in {@code namespace} and waits until it says it is ready. */
  static Agent start(String namespace, String javaCommand, String classPath, Duration timeout)
      throws IOException {
    Process process =
        new ProcessBuilder(
                List.of(
                    "ip",
                    "netns",
                    "exec",
                    namespace,
                    javaCommand,
                    "-Xshare:auto",
                    "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC",
                    "-Xmx32m",
                    "-cp",
                    classPath,
                    LabAgent.class.getName()))
            .start();
    Agent agent = new Agent(namespace, process);
    String ready = agent.await(timeout);
    if (!ready.equals("ok ready")) {
      agent.close();
      throw new IOException("lab agent in " + namespace + " did not start: " + ready);
    }
    return agent;
  }

  /** The agent's process id: {@code /proc/PID/net} shows its namespace's network state. */
  long pid() {
    return process.pid();
  }

  /** Sends one command and returns the text after {@code ok}; fails on {@code err} or silence. */
  synchronized String ask(String command, Duration timeout) throws IOException {
    replies.clear();
    OutputStream in = process.getOutputStream();
    in.write((command + "\n").getBytes(StandardCharsets.UTF_8));
    in.flush();
    String reply = await(timeout);
    if (!reply.startsWith("ok")) {
      throw new IOException(
          "lab agent in " + namespace + " answered '" + reply + "' to '" + command + "'");
    }
    return reply.substring(2).strip();
  }

  private String await(Duration timeout) throws IOException {
    @Nullable String reply;
    try {
      reply = replies.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for the lab agent in " + namespace, e);
    }
    if (reply == null) {
      throw new IOException("lab agent in " + namespace + " did not answer within " + timeout);
    }
    if (reply.equals(EOF)) {
      String err;
      synchronized (stderr) {
        err = stderr.toString().strip();
      }
      throw new IOException("lab agent in " + namespace + " exited: " + err);
    }
    return reply;
  }

  @Override
  public void close() {
    try {
      process.getOutputStream().write("quit\n".getBytes(StandardCharsets.UTF_8));
      process.getOutputStream().close();
      if (!process.waitFor(2, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (IOException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
