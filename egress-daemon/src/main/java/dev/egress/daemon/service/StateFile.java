package dev.egress.daemon.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.wire.Args;
import dev.egress.daemon.wire.Json;
import dev.egress.daemon.wire.PolicyName;
import dev.egress.daemon.wire.RequestException;
import dev.egress.daemon.wire.Values;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.policy.TextFile;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The attachments a daemon serves, kept in a file so that a restarted daemon (even after kill -9)
 * serves them again: each container with its policy (the name of its file, if any, and the text in
 * force) and when it was attached. Written whole to a temporary file in the same directory and
 * renamed over the old one, so a reader sees the old or the new state, never a mix.
 *
 * <p>Not synced to disk: the default place is {@code /run} (memory, emptied at boot), and the rules
 * it describes vanish at a reboot too. A process crash loses nothing once the rename returned.
 */
public final class StateFile {
  /** The largest state file read: 64 MiB. */
  public static final int MAX_SIZE = 64 << 20;

  private static final String VERSION_FIELD = "egressdState";

  private final Path file;

  /**
   * One attachment as saved.
   *
   * @param container the container, as attached
   * @param policyName the policy file it was attached with; null for policy text
   * @param policyText the canonical text of the policy in force
   * @param attachedAt when it was first attached
   */
  public record Saved(
      ContainerEndpoint container,
      @Nullable PolicyName policyName,
      String policyText,
      Instant attachedAt) {
    public Saved {
      Objects.requireNonNull(container, "container");
      Objects.requireNonNull(policyText, "policyText");
      Objects.requireNonNull(attachedAt, "attachedAt");
    }
  }

  public StateFile(Path file) {
    this.file = Objects.requireNonNull(file, "file");
  }

  public Path path() {
    return file;
  }

  /**
   * The saved attachments; none when there is no file yet.
   *
   * @throws IOException if the file cannot be read or does not hold a state this daemon wrote,
   *     naming the file and what is wrong
   */
  public List<Saved> read() throws IOException {
    String text;
    try {
      text = TextFile.read(file, MAX_SIZE, "state file");
    } catch (NoSuchFileException e) {
      return List.of();
    }
    try {
      JsonNode root = Json.parse(text);
      if (!root.isObject()) {
        throw new IOException(where() + "not a JSON object");
      }
      Args.of((ObjectNode) root).only(Set.of(VERSION_FIELD, "attachments"));
      JsonNode version = root.get(VERSION_FIELD);
      if (version == null || !version.isInt() || version.intValue() != 1) {
        throw new IOException(where() + "not a version 1 state of egressd");
      }
      JsonNode attachments = root.get("attachments");
      if (attachments == null || !attachments.isArray()) {
        throw new IOException(where() + "no attachments list");
      }
      List<Saved> saved = new ArrayList<>();
      for (JsonNode attachment : attachments) {
        saved.add(saved(attachment));
      }
      return saved;
    } catch (JsonProcessingException e) {
      throw new IOException(where() + "not JSON: " + UserText.line(e.getOriginalMessage()));
    } catch (RequestException e) {
      throw new IOException(where() + e.getMessage());
    }
  }

  /**
   * Replaces the file's content with {@code attachments}, atomically.
   *
   * @throws IOException if it could not be written; the old state is then still in place
   */
  public void write(List<Saved> attachments) throws IOException {
    ObjectNode root = Json.object();
    root.put(VERSION_FIELD, 1);
    ArrayNode list = root.putArray("attachments");
    for (Saved saved : attachments) {
      ObjectNode json = list.addObject();
      json.set("container", Values.json(saved.container()));
      ObjectNode policy = json.putObject("policy");
      PolicyName name = saved.policyName();
      if (name != null) {
        policy.put("name", name.value());
      }
      policy.put("text", saved.policyText());
      json.put("attachedAt", Json.time(saved.attachedAt()));
    }
    Path directory = Objects.requireNonNull(file.toAbsolutePath().getParent(), "parent");
    Files.createDirectories(
        directory,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    // createTempFile makes the file readable and writable by its owner only.
    Path temporary = Files.createTempFile(directory, ".state-", ".tmp");
    try {
      Files.write(temporary, Json.text(root).getBytes(StandardCharsets.UTF_8));
      Files.move(
          temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private Saved saved(JsonNode node) throws IOException, RequestException {
    if (!node.isObject()) {
      throw new IOException(where() + "an attachment is not an object");
    }
    Args attachment = Args.of((ObjectNode) node).only(Set.of("container", "policy", "attachedAt"));
    ContainerEndpoint container = Values.container(attachment.object("container"));
    Args policy = attachment.object("policy").only(Set.of("name", "text"));
    String name = policy.optionalString("name");
    PolicyName policyName;
    Instant attachedAt;
    try {
      policyName = name == null ? null : new PolicyName(name);
      attachedAt = Json.parseTime(attachment.string("attachedAt"));
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw new IOException(where() + "attachment of " + container.id() + ": " + e.getMessage());
    }
    return new Saved(container, policyName, policy.string("text"), attachedAt);
  }

  private String where() {
    return "the state file " + UserText.line(file.toString()) + ": ";
  }
}
