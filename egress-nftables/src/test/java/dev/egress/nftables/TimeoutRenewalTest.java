package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TimeoutRenewalTest {
  @ParameterizedTest
  @CsvSource({
    "6.12.0, ADD_REPLACES",
    "6.18.44-fc-v782, ADD_REPLACES",
    "7.0.0-30-generic, ADD_REPLACES",
    "6.12, ADD_REPLACES",
    "6.11.9-200.fc40.x86_64, DELETE_AND_ADD",
    "6.1.0-28-amd64, DELETE_AND_ADD",
    "5.15.0-1051-azure, DELETE_AND_ADD",
    "'', DELETE_AND_ADD",
    "6, DELETE_AND_ADD",
    "linux, DELETE_AND_ADD",
    "99999999999.1, DELETE_AND_ADD",
    "6.99999999999, DELETE_AND_ADD"
  })
  void fromLinux6_12On_oneAddReplacesATimeout_elseAddDeleteAdd_andWhenUnreadable(
      String release, TimeoutRenewal expected) {
    assertEquals(expected, TimeoutRenewal.ofRelease(release));
  }
}
