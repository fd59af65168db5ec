package dev.egress.audit;

import dev.egress.policy.IpAddresses;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Parses the lines tcpdump prints for logged packets into {@link RefusedPacket}s: from an NFLOG
 * group ({@link #nflogArguments}) and from {@code pflog0} ({@link #PFLOG_ARGUMENTS}, which adds
 * pf's header). Both are run with {@code -q}, so that the protocol is named by tcpdump rather than
 * guessed from a decoder's output ({@code tcp 0}, {@code UDP, length 31}, {@code ICMP echo request,
 * ...}, {@code ICMP6, echo request, ...}); tcpdump's full TCP decode ({@code Flags [S], ...}) is
 * understood too. Anything else (a UDP packet that a protocol decoder printed, a line cut short,
 * another protocol) is not a refused packet this class can name, and yields null.
 *
 * <p>Stateless and thread-safe.
 */
public final class TcpdumpLine {
  /**
   * tcpdump's arguments to read NFLOG group {@code group}: {@code -q -n -l -tt -i nflog:N} (short
   * protocol names, numbers only, line buffered, epoch time).
   */
  public static List<String> nflogArguments(int group) {
    return List.of("-q", "-n", "-l", "-tt", "-i", "nflog:" + group);
  }

  /** tcpdump's arguments to read pf's log: {@code -q -n -e -l -tt -i pflog0} (-e: pf's header). */
  public static final List<String> PFLOG_ARGUMENTS =
      List.of("-q", "-n", "-e", "-l", "-tt", "-i", "pflog0");

  private static final String TIME = "(\\d{1,12}\\.\\d{6})";
  private static final String ENDPOINTS = "(\\S+) > (\\S+): (.*)";

  private static final Pattern NFLOG = Pattern.compile("^" + TIME + " IP6? " + ENDPOINTS + "$");

  // After research on pf's header: 'rule NR.RULESET.SUBNR/REASON: ACTION DIR on IF: ', the
  // ruleset (last anchor component, at most 15 characters) may hold dots or be empty, and some
  // builds append ' [uid N]' after the reason.
  private static final Pattern PFLOG =
      Pattern.compile(
          "^"
              + TIME
              + " rule (\\d+)(?:\\.(.*)\\.(\\d+))?/\\d+\\([^)]*\\)(?: \\[uid \\d+\\])?: "
              + "(\\S+) (in|out|in/out) on (\\S+): "
              + ENDPOINTS
              + "$");

  private static final Pattern TCP = Pattern.compile("^(tcp \\d+|Flags \\[).*");
  private static final Pattern UDP = Pattern.compile("^UDP, length \\d+.*");
  private static final Pattern ICMP = Pattern.compile("^ICMP [a-z].*");
  private static final Pattern ICMPV6 = Pattern.compile("^(HBH )?ICMP6, .*");

  private TcpdumpLine() {}

  /**
   * The packet of one line of {@link #nflogArguments}' output, or null when the line is not a
   * packet this class can name.
   */
  public static @Nullable RefusedPacket parseNflog(String line) {
    Matcher m = NFLOG.matcher(line);
    return m.matches() ? packet(m.group(1), m.group(2), m.group(3), m.group(4)) : null;
  }

  /**
   * One line of {@link #PFLOG_ARGUMENTS}' output: pf's header and the packet, or null when the line
   * is not a packet this class can name.
   */
  public static @Nullable PflogEntry parsePflog(String line) {
    Matcher m = PFLOG.matcher(line);
    if (!m.matches()) {
      return null;
    }
    RefusedPacket packet = packet(m.group(1), m.group(8), m.group(9), m.group(10));
    if (packet == null) {
      return null;
    }
    String ruleset = m.group(3) == null ? "" : m.group(3);
    return new PflogEntry(ruleset, m.group(5), m.group(6), m.group(7), packet);
  }

  /**
   * What pf's header says about a logged packet, and the packet.
   *
   * @param ruleset the last component of the anchor whose rule matched, cut to 15 characters by pf;
   *     empty for a rule of the main ruleset or a packet logged through a state
   * @param action {@code block}, {@code pass}, ...
   * @param direction {@code in}, {@code out}, or {@code in/out}
   * @param ifname the interface the packet crossed
   */
  public record PflogEntry(
      String ruleset, String action, String direction, String ifname, RefusedPacket packet) {
    public PflogEntry {
      Objects.requireNonNull(ruleset, "ruleset");
      Objects.requireNonNull(action, "action");
      Objects.requireNonNull(direction, "direction");
      Objects.requireNonNull(ifname, "ifname");
      Objects.requireNonNull(packet, "packet");
    }
  }

  private static @Nullable RefusedPacket packet(
      String time, String from, String to, String payload) {
    try {
      Instant instant = epoch(time);
      if (ICMP.matcher(payload).matches() || ICMPV6.matcher(payload).matches()) {
        InetAddress source = IpAddresses.parse(from);
        InetAddress destination = IpAddresses.parse(to);
        PacketProtocol protocol =
            IpAddresses.isIpv6(source) ? PacketProtocol.ICMPV6 : PacketProtocol.ICMP;
        if ((protocol == PacketProtocol.ICMPV6) != ICMPV6.matcher(payload).matches()) {
          return null;
        }
        return new RefusedPacket(instant, source, destination, protocol, null);
      }
      PacketProtocol protocol;
      if (TCP.matcher(payload).matches()) {
        protocol = PacketProtocol.TCP;
      } else if (UDP.matcher(payload).matches()) {
        protocol = PacketProtocol.UDP;
      } else {
        return null;
      }
      int sourceDot = from.lastIndexOf('.');
      int destinationDot = to.lastIndexOf('.');
      if (sourceDot < 0 || destinationDot < 0) {
        return null;
      }
      return new RefusedPacket(
          instant,
          IpAddresses.parse(from.substring(0, sourceDot)),
          IpAddresses.parse(to.substring(0, destinationDot)),
          protocol,
          Integer.parseInt(to.substring(destinationDot + 1)));
    } catch (IllegalArgumentException e) {
      // Not an address, a port out of range, families mixed: not a line this class can name.
      return null;
    }
  }

  private static Instant epoch(String time) {
    BigDecimal seconds = new BigDecimal(time);
    long whole = seconds.longValue();
    int micros = seconds.subtract(BigDecimal.valueOf(whole)).movePointRight(6).intValueExact();
    return Instant.ofEpochSecond(whole, micros * 1000L);
  }
}
