package dev.egress.examples.launcher;

import dev.egress.container.ContainerCliException;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.policy.EgressPolicy;
import dev.egress.process.ProcessResult;
import java.util.List;

/**
 * A running container whose group policy is enforced. Only {@link Launcher#launch} creates one, and
 * only after the enforcer attached the policy (and the self-check, if any, passed): holding a
 * {@code ManagedContainer} is the proof that work may be handed to it.
 *
 * <p>Thread-safe.
 */
public final class ManagedContainer {
  private final Launcher launcher;
  private final String group;
  private final Attachment attachment;

  ManagedContainer(Launcher launcher, String group, Attachment attachment) {
    this.launcher = launcher;
    this.group = group;
    this.attachment = attachment;
  }

  /** The container's id, its name: {@code PREFIX-GROUP-TIMESTAMP}. */
  public String id() {
    return attachment.container().id().value();
  }

  public String group() {
    return group;
  }

  /** The addresses and gateway the policy is attached to. */
  public ContainerEndpoint endpoint() {
    return attachment.container();
  }

  /** The policy enforced now; it follows the group's policy file. */
  public EgressPolicy policy() {
    return attachment.policy();
  }

  /** Whether the launcher still runs the container under its policy. */
  public boolean isActive() {
    return attachment.isActive() && launcher.isManaging(this);
  }

  Attachment attachment() {
    return attachment;
  }

  /**
   * Hands the container work: runs {@code command} in it with the runtime's {@code exec}. Blocks
   * until the command ends.
   *
   * @throws IllegalStateException if the container was stopped or its policy detached
   * @throws ContainerCliException if the CLI could not be run
   */
  public ProcessResult exec(List<String> command)
      throws ContainerCliException, InterruptedException {
    if (!isActive()) {
      throw new IllegalStateException(
          "container " + id() + " is no longer managed; launch another");
    }
    return launcher.runtime().exec(id(), command);
  }

  /**
   * Stops the container, then removes its rules (in that order: a container never runs without
   * them). Idempotent.
   *
   * @throws LaunchException if the container could not be stopped; its rules then stay in place
   */
  public void stop() throws LaunchException, InterruptedException {
    launcher.stop(this);
  }

  @Override
  public String toString() {
    return id() + " (group " + group + ")";
  }
}
