package dev.egress.examples.launcher;

import dev.egress.enforcer.ContainerEndpoint;

/** What a {@link Launcher} did, for logs and alerts. */
public sealed interface LauncherEvent {

  /** The container concerned, or empty for group-wide events. */
  String containerId();

  /** The container runs under its group's policy and has been handed out. */
  record Launched(String containerId, String group, ContainerEndpoint endpoint)
      implements LauncherEvent {}

  /** The launch failed; the container was stopped and never handed out. */
  record LaunchFailed(String containerId, String group, String reason) implements LauncherEvent {}

  /**
   * The self-check reached a destination the policy denies: the enforcer does not enforce. The
   * container was stopped. This is an alarm, not a routine failure.
   */
  record EnforcementFailure(String containerId, String group, String description)
      implements LauncherEvent {}

  /** The launcher stopped the container and removed its rules. */
  record Stopped(String containerId, String group) implements LauncherEvent {}

  /** The container was found no longer running; its rules were removed. */
  record Exited(String containerId, String group) implements LauncherEvent {}

  /** A container labelled as this launcher's, but not launched by this instance, was stopped. */
  record OrphanStopped(String containerId) implements LauncherEvent {}

  /** The group's running containers now have its new policy. */
  record PolicyReloaded(String group, int containersUpdated) implements LauncherEvent {
    @Override
    public String containerId() {
      return "";
    }
  }

  /**
   * The group's policy file is missing or invalid; the group's policy is now "deny everything"
   * until the file is fixed.
   */
  record PolicyRejected(String group, String problem) implements LauncherEvent {
    @Override
    public String containerId() {
      return "";
    }
  }

  /**
   * Stopping a container or removing its rules failed. What is left behind only restricts: a
   * container that could not be stopped keeps its rules (or, if never attached, has no work and
   * only what the enforcer's guard allows); rules that could not be removed are retried by the
   * enforcer.
   */
  record CleanupFailed(String containerId, String description) implements LauncherEvent {}
}
