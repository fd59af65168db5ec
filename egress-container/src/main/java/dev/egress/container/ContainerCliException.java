package dev.egress.container;

/**
 * The container CLI failed, or printed something this library cannot read. The message names the
 * command and what went wrong.
 */
public class ContainerCliException extends Exception {
  private static final long serialVersionUID = 1L;

  public ContainerCliException(String message) {
    super(message);
  }

  public ContainerCliException(String message, Throwable cause) {
    super(message, cause);
  }
}
