package dev.egress.examples.launcher;

/**
 * A container could not be launched under its policy, or could not be stopped. When thrown by a
 * launch, the container has been stopped (or, if even that failed, reported by a {@link
 * LauncherEvent.CleanupFailed} event) and was never handed out.
 */
public class LaunchException extends Exception {
  private static final long serialVersionUID = 1L;

  public LaunchException(String message) {
    super(message);
  }

  public LaunchException(String message, Throwable cause) {
    super(message, cause);
  }
}
