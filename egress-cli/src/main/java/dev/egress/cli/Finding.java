package dev.egress.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One result of a host check.
 *
 * @param check what was checked, short ("pf enabled")
 * @param severity how it came out
 * @param message what was found
 * @param fix how to fix it; empty when nothing needs fixing
 */
record Finding(String check, Severity severity, String message, String fix) {
  enum Severity {
    /** As it should be. */
    OK,
    /** Enforcement works, but something is missing (logging, hardening) or will be set up later. */
    WARN,
    /** The host cannot enforce until this is fixed. */
    FAIL
  }

  Finding {
    Objects.requireNonNull(check, "check");
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(fix, "fix");
    if (severity != Severity.OK && fix.isEmpty()) {
      throw new IllegalArgumentException("a " + severity + " finding needs a fix: " + check);
    }
  }

  static Finding ok(String check, String message) {
    return new Finding(check, Severity.OK, message, "");
  }

  static Finding warn(String check, String message, String fix) {
    return new Finding(check, Severity.WARN, message, fix);
  }

  static Finding fail(String check, String message, String fix) {
    return new Finding(check, Severity.FAIL, message, fix);
  }

  /**
   * A failure from {@code e}: its message (without the hint it carries) and its hint as the fix.
   */
  static Finding failure(String check, dev.egress.enforcer.EgressException e, String defaultFix) {
    String message = String.valueOf(e.getMessage());
    String hint = e.hint();
    if (!hint.isEmpty() && message.endsWith(" (" + hint + ")")) {
      message = message.substring(0, message.length() - hint.length() - 3);
    }
    return fail(check, message, hint.isEmpty() ? defaultFix : hint);
  }

  Map<String, Object> toJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("check", check);
    json.put("severity", severity.name().toLowerCase(java.util.Locale.ROOT));
    json.put("message", message);
    if (!fix.isEmpty()) {
      json.put("fix", fix);
    }
    return json;
  }
}
