package dev.egress.dns;

/** The two address families a name is asked for: {@code A} and {@code AAAA} records. */
public enum AddressFamily {
  IPV4("A"),
  IPV6("AAAA");

  private final String recordType;

  AddressFamily(String recordType) {
    this.recordType = recordType;
  }

  /** {@code A} or {@code AAAA}, for messages. */
  String recordType() {
    return recordType;
  }
}
