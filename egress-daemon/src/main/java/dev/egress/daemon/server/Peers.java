package dev.egress.daemon.server;

import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;
import java.util.stream.Collectors;
import jdk.net.UnixDomainPrincipal;

/**
 * Who may send commands: a peer whose user is one of {@code users}, or whose group is one of {@code
 * groups}. The group is the peer process's effective group, which is all {@code SO_PEERCRED} tells
 * (not its supplementary groups).
 */
record Peers(Set<UserPrincipal> users, Set<GroupPrincipal> groups) {
  Peers {
    users = Set.copyOf(users);
    groups = Set.copyOf(groups);
  }

  boolean allow(UnixDomainPrincipal peer) {
    return users.contains(peer.user()) || groups.contains(peer.group());
  }

  /** Why {@code peer} is refused, for the permission-denied message. */
  String refusal(UnixDomainPrincipal peer) {
    return "user "
        + peer.user().getName()
        + " (group "
        + peer.group().getName()
        + ") may not use egressd; allowed users: "
        + names(users)
        + "; allowed groups: "
        + names(groups);
  }

  private static String names(Set<? extends UserPrincipal> principals) {
    return principals.isEmpty()
        ? "none"
        : principals.stream()
            .map(UserPrincipal::getName)
            .sorted()
            .collect(Collectors.joining(", "));
  }
}
