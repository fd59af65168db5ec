package dev.egress.examples.launcher;

import java.util.regex.Pattern;

/** Group names: they become part of container names and policy file names. */
final class Groups {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");

  private Groups() {}

  /**
   * @throws IllegalArgumentException unless 1-40 lower-case letters, digits or '-', not starting
   *     with '-'
   */
  static String check(String group) {
    if (!NAME.matcher(group).matches()) {
      throw new IllegalArgumentException(
          "group '"
              + group
              + "' must be 1-40 lower-case letters, digits or '-', starting with a"
              + " letter or digit");
    }
    return group;
  }

  static boolean isValid(String group) {
    return NAME.matcher(group).matches();
  }
}
