package dev.egress.cli;

import dev.egress.daemon.ConfigException;
import dev.egress.daemon.ConfigText;
import dev.egress.daemon.DaemonConfig;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * Which guard the enforcer runs with, so that {@code cleanup} keeps it and {@code status} misses it
 * when it is gone: egressd's configuration file, the {@code --guard-*} options of {@link
 * NftOptions} as configured, or {@code --no-guard}. Without one of them the guard is unknown, and
 * commands that would reload the host's hook refuse rather than drop it. The configuration file
 * also gives nftables' DNS filter, whose port-53 redirect a reload keeps.
 */
final class GuardOptions {
  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "egressd's configuration file (e.g. "
              + "/etc/egressd/egressd.conf): the managed network and guard the enforcer runs with.")
  private @Nullable Path config;

  @Option(
      names = "--no-guard",
      description = "The enforcer runs without a guard (say so; it is never assumed).")
  private boolean noGuard;

  /**
   * The packet filter {@code chosen} as the enforcer runs it: with the guard (and, for nftables,
   * the DNS filter) of egressd's configuration file, of the {@code --guard-*} options, or none with
   * {@code --no-guard}; without any of them the guard is unknown and taken as none.
   *
   * @throws CommandFailure with {@link ExitCodes#USAGE} for contradicting options, an unreadable
   *     configuration file or one for the other backend
   */
  PacketFilter packetFilter(Backend chosen, CliHost host, PfOptions pf, NftOptions nft) {
    return switch (chosen) {
      case PF -> {
        requireOneSource(false);
        if (config != null) {
          yield PacketFilter.pf(
              host, pf.command(host), read(config, DaemonConfig.Backend.PF).pfParent(), true);
        }
        yield PacketFilter.pf(host, pf.command(host), pf.parent(), noGuard);
      }
      case NFT -> {
        requireOneSource(nft.guardGiven());
        if (config != null) {
          DaemonConfig read = read(config, DaemonConfig.Backend.NFTABLES);
          yield PacketFilter.nft(host, nft, read.nftGuard(), true, read.resolver().dnsFilter());
        }
        yield PacketFilter.nft(host, nft, nft.guard(), nft.guardGiven() || noGuard, null);
      }
    };
  }

  /** What to tell the operator when the guard is unknown and must not be. */
  static String unknownGuard(String command, String hook) {
    return "egressctl: "
        + command
        + " reloads "
        + hook
        + ", and the guard the enforcer runs with is unknown: reloading it without"
        + " the guard would open the managed network. Say which guard it runs with: --config FILE"
        + " (egressd's configuration), the --guard-* options as the launcher configures them, or"
        + " --no-guard if it runs without one";
  }

  private void requireOneSource(boolean guardOptionsGiven) {
    List<String> given = new ArrayList<>();
    if (config != null) {
      given.add("--config");
    }
    if (guardOptionsGiven) {
      given.add("--guard-*");
    }
    if (noGuard) {
      given.add("--no-guard");
    }
    if (given.size() > 1) {
      throw new CommandFailure(
          ExitCodes.USAGE,
          "egressctl: "
              + String.join(" and ", given)
              + " each say which guard the enforcer runs with: give one of them");
    }
  }

  private static DaemonConfig read(Path file, DaemonConfig.Backend expected) {
    DaemonConfig read;
    try {
      read = ConfigText.read(file);
    } catch (FileSystemException e) {
      throw new CommandFailure(
          ExitCodes.USAGE, "egressctl: --config: cannot read " + file + ": " + e.getMessage());
    } catch (ConfigException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: --config: " + e.getMessage());
    }
    if (read.backend() != expected) {
      throw new CommandFailure(
          ExitCodes.USAGE,
          "egressctl: --config: "
              + file
              + " configures "
              + read.backend()
              + ", not "
              + expected
              + ": pass --backend to match it");
    }
    return read;
  }
}
