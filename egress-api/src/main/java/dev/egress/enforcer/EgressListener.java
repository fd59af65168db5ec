package dev.egress.enforcer;

/**
 * Receives an enforcer's events. Called synchronously on the thread that did the work, possibly
 * several threads at once; implementations must be thread-safe and quick. An exception thrown by a
 * listener is logged and otherwise ignored: auditing never changes enforcement.
 */
@FunctionalInterface
public interface EgressListener {
  EgressListener NONE = event -> {};

  void onEvent(EgressEvent event);
}
