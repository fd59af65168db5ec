package dev.egress.examples.launcher;

/**
 * Receives a launcher's events, synchronously on the thread that did the work (possibly several at
 * once). Must be thread-safe and quick; an exception it throws is ignored.
 */
@FunctionalInterface
public interface LauncherListener {
  LauncherListener NONE = event -> {};

  void onEvent(LauncherEvent event);
}
