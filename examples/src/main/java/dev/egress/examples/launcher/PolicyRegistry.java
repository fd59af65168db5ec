package dev.egress.examples.launcher;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * The groups' policies, one file per group: {@code DIRECTORY/GROUP.policy} in the {@link
 * PolicyText} format. {@link #reload()} rereads the directory and says which groups changed.
 *
 * <p>Fails closed: a group with no file has no policy (its containers cannot be launched); a file
 * that is invalid, cannot be read (not a regular file, larger than {@link PolicyText#MAX_SIZE}, not
 * UTF-8), or is deleted after it was loaded, turns the group's policy into "deny everything" — an
 * operator's typo cuts the group's network rather than keep rules the operator meant to replace —
 * and {@link #problems()} says why. Other groups are not affected.
 *
 * <p>Thread-safe; {@link #reload()} blocks on file reads.
 */
public final class PolicyRegistry {
  /** The file name suffix of policy files. */
  public static final String SUFFIX = ".policy";

  private final Path directory;
  private final Map<String, Entry> entries = new HashMap<>();
  private final Map<String, String> problems = new HashMap<>();

  private record Entry(Content content, EgressPolicy policy) {}

  /**
   * What reading a group's file gave: its text, why it could not be read, or neither when it is
   * gone. Equal contents need no new parse.
   */
  private record Content(@Nullable String text, @Nullable String unreadable) {
    static final Content MISSING = new Content(null, null);
  }

  /**
   * A change {@link #reload()} found.
   *
   * @param group the group
   * @param policy its policy from now on
   * @param problem why the file was not used (the policy is then deny-all), or null when it was
   */
  public record Change(String group, EgressPolicy policy, @Nullable String problem) {}

  private PolicyRegistry(Path directory) {
    this.directory = directory;
  }

  /**
   * Loads every {@code *.policy} file of {@code directory}. A file that does not parse makes its
   * group deny everything, as in {@link #reload()}; {@link #problems()} says why.
   *
   * @throws IOException if the directory cannot be listed
   */
  public static PolicyRegistry load(Path directory) throws IOException {
    PolicyRegistry registry = new PolicyRegistry(Objects.requireNonNull(directory, "directory"));
    registry.reload();
    return registry;
  }

  /** The groups whose file is invalid or gone, and why; their policy denies everything. */
  public synchronized Map<String, String> problems() {
    return Map.copyOf(problems);
  }

  /**
   * The group's current policy.
   *
   * @throws IllegalArgumentException if the group has no policy file (create {@code
   *     DIRECTORY/GROUP.policy})
   */
  public synchronized EgressPolicy policyFor(String group) {
    Entry entry = entries.get(group);
    if (entry == null) {
      throw new IllegalArgumentException(
          "group "
              + UserText.quote(group)
              + " has no policy: create "
              + UserText.line(directory.resolve(group + SUFFIX).toString()));
    }
    return entry.policy();
  }

  /** The groups that have (or had) a policy file. */
  public synchronized Set<String> groups() {
    return Set.copyOf(new TreeSet<>(entries.keySet()));
  }

  /**
   * Rereads the directory. New and changed valid files take effect; invalid or deleted files make
   * their group deny everything. Files whose text did not change are not parsed again.
   *
   * @return the groups whose policy changed, sorted by group
   * @throws IOException if the directory cannot be listed (nothing changes)
   */
  public synchronized List<Change> reload() throws IOException {
    Map<String, Path> present = new HashMap<>();
    for (Path file : policyFiles(directory)) {
      present.put(groupOf(file), file);
    }
    Set<String> groups = new TreeSet<>(entries.keySet());
    groups.addAll(present.keySet());
    List<Change> changes = new ArrayList<>();
    for (String group : groups) {
      Path file = present.get(group);
      Content content = file == null ? Content.MISSING : read(file);
      Entry old = entries.get(group);
      if (old != null && old.content().equals(content)) {
        continue;
      }
      Change change = parse(group, file, content);
      if (old == null || !old.policy().equals(change.policy()) || change.problem() != null) {
        changes.add(change);
      }
      entries.put(group, new Entry(content, change.policy()));
      String problem = change.problem();
      if (problem == null) {
        problems.remove(group);
      } else {
        problems.put(group, problem);
      }
    }
    return changes;
  }

  private static Change parse(String group, @Nullable Path file, Content content) {
    String text = content.text();
    String unreadable = content.unreadable();
    if (unreadable != null) {
      return new Change(
          group,
          EgressPolicy.denyAll(),
          unreadable + " (the group denies everything until the file is fixed)");
    }
    if (file == null || text == null) {
      return new Change(
          group,
          EgressPolicy.denyAll(),
          "policy file of group '" + group + "' was removed; the group now denies everything");
    }
    try {
      return new Change(group, PolicyText.parse(text, file.toString()), null);
    } catch (PolicySyntaxException e) {
      return new Change(
          group,
          EgressPolicy.denyAll(),
          e.getMessage() + " (the group denies everything until the file is fixed)");
    }
  }

  /** The file through {@link PolicyText#readText}: regular files of bounded size only. */
  private static Content read(Path file) {
    try {
      return new Content(PolicyText.readText(file), null);
    } catch (NoSuchFileException e) {
      return Content.MISSING;
    } catch (FileSystemException e) {
      return new Content(null, "cannot read policy file " + e.getMessage());
    }
  }

  private static List<Path> policyFiles(Path directory) throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files
          .filter(f -> f.getFileName().toString().endsWith(SUFFIX))
          .filter(f -> Groups.isValid(groupOf(f)))
          .sorted()
          .toList();
    }
  }

  private static String groupOf(Path file) {
    String name = file.getFileName().toString();
    return name.substring(0, name.length() - SUFFIX.length());
  }
}
