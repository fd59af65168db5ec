package dev.egress.container;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * What {@code container run --detach} is asked to start.
 *
 * @param name the container's name, which becomes its id: letters, digits, '-', '_' and '.',
 *     starting with a letter or digit, at most 128 characters
 * @param image the image reference
 * @param labels {@code --label key=value}; keys and values without '=' in the key or newlines
 * @param mounts bind mounts, in order
 * @param env {@code --env KEY=VALUE}, in order
 * @param network {@code --network NAME}, or null for the runtime's default network
 * @param dns {@code --dns ADDRESS} for each resolver; empty keeps the runtime's default (the
 *     gateway)
 * @param removeOnExit whether to pass {@code --rm}
 * @param command the container's command and arguments; empty runs the image's default
 */
public record ContainerRunSpec(
    String name,
    String image,
    Map<String, String> labels,
    List<Mount> mounts,
    Map<String, String> env,
    @Nullable String network,
    List<InetAddress> dns,
    boolean removeOnExit,
    List<String> command) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

  public ContainerRunSpec {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "container name '"
              + name
              + "' must be 1-128 letters, digits, '-', '_' or '.',"
              + " starting with a letter or digit");
    }
    if (image.isBlank()
        || image.startsWith("-")
        || image.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("image reference '" + image + "' is not valid");
    }
    labels = Map.copyOf(checkPairs(labels, "label"));
    mounts = List.copyOf(mounts);
    env = Map.copyOf(checkPairs(env, "environment variable"));
    if (network != null && !NAME.matcher(network).matches()) {
      throw new IllegalArgumentException("network name '" + network + "' is not valid");
    }
    dns = List.copyOf(dns);
    command = List.copyOf(command);
  }

  public static Builder builder(String name, String image) {
    return new Builder(name, image);
  }

  /** The arguments after the executable: {@code run --detach ... IMAGE COMMAND...}. */
  List<String> arguments() {
    List<String> args = new ArrayList<>(List.of("run", "--detach"));
    if (removeOnExit) {
      args.add("--rm");
    }
    args.addAll(List.of("--name", name));
    labels.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> args.addAll(List.of("--label", e.getKey() + "=" + e.getValue())));
    for (Mount mount : mounts) {
      args.addAll(List.of("--mount", mount.argument()));
    }
    env.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> args.addAll(List.of("--env", e.getKey() + "=" + e.getValue())));
    if (network != null) {
      args.addAll(List.of("--network", network));
    }
    for (InetAddress server : dns) {
      args.addAll(List.of("--dns", IpAddresses.format(server)));
    }
    args.add(image);
    args.addAll(command);
    return args;
  }

  private static Map<String, String> checkPairs(Map<String, String> pairs, String what) {
    pairs.forEach(
        (key, value) -> {
          if (key.isEmpty()
              || key.contains("=")
              || key.contains(",")
              || key.chars().anyMatch(Character::isWhitespace)
              || value.contains("\n")) {
            throw new IllegalArgumentException(
                what + " '" + key + "' must be non-empty, without '=', ',', spaces or newlines");
          }
        });
    return pairs;
  }

  /**
   * A bind mount, passed as {@code --mount type=bind,source=...,target=...[,readonly]}.
   *
   * @param source an absolute host path without ','
   * @param target an absolute path in the container without ','
   */
  public record Mount(Path source, String target, boolean readOnly) {
    public Mount {
      if (!source.isAbsolute() || source.toString().contains(",")) {
        throw new IllegalArgumentException(
            "mount source '" + source + "' must be an absolute path without ','");
      }
      if (!target.startsWith("/") || target.contains(",")) {
        throw new IllegalArgumentException(
            "mount target '" + target + "' must be an absolute path without ','");
      }
    }

    String argument() {
      return "type=bind,source=" + source + ",target=" + target + (readOnly ? ",readonly" : "");
    }
  }

  /** Collects the optional parts; {@link #build()} validates them all. */
  public static final class Builder {
    private final String name;
    private final String image;
    private final Map<String, String> labels = new LinkedHashMap<>();
    private final List<Mount> mounts = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private @Nullable String network;
    private final List<InetAddress> dns = new ArrayList<>();
    private boolean removeOnExit = true;
    private final List<String> command = new ArrayList<>();

    private Builder(String name, String image) {
      this.name = Objects.requireNonNull(name, "name");
      this.image = Objects.requireNonNull(image, "image");
    }

    public Builder label(String key, String value) {
      labels.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public Builder mount(Path source, String target, boolean readOnly) {
      mounts.add(new Mount(source, target, readOnly));
      return this;
    }

    public Builder env(String key, String value) {
      env.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** The network to attach to; null for the runtime's default. */
    public Builder network(@Nullable String name) {
      this.network = name;
      return this;
    }

    public Builder dns(InetAddress server) {
      dns.add(Objects.requireNonNull(server, "server"));
      return this;
    }

    /** Whether the runtime removes the container once it stops; the default is true. */
    public Builder removeOnExit(boolean remove) {
      this.removeOnExit = remove;
      return this;
    }

    public Builder command(List<String> commandAndArguments) {
      command.clear();
      command.addAll(commandAndArguments);
      return this;
    }

    /** A copy of what was set so far with another name: one template, many containers. */
    public Builder withName(String otherName) {
      Builder copy = new Builder(otherName, image);
      copy.labels.putAll(labels);
      copy.mounts.addAll(mounts);
      copy.env.putAll(env);
      copy.network = network;
      copy.dns.addAll(dns);
      copy.removeOnExit = removeOnExit;
      copy.command.addAll(command);
      return copy;
    }

    public ContainerRunSpec build() {
      return new ContainerRunSpec(
          name, image, labels, mounts, env, network, dns, removeOnExit, command);
    }
  }
}
