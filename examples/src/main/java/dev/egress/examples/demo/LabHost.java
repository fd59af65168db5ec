package dev.egress.examples.demo;

import dev.egress.audit.AuditRecord;
import dev.egress.audit.AuditWriter;
import dev.egress.audit.RefusedPacket;
import dev.egress.dns.DnsNameResolver;
import dev.egress.dns.filter.DnsFilter;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * The demo's enforcer and DNS filter, in a process of their own inside the lab's host namespace
 * (where the filter's sockets must be, as egressd's are on a real host): the nftables enforcer
 * built with the filter's address, its audit trail, and a {@link DnsFilter} on port 53 of that
 * address whose upstream is the lab's DNS server. {@link Demo} starts it, and probes from the
 * container namespaces. Prints {@code ready}, then answers each command line:
 *
 * <ul>
 *   <li>{@code attach ID IPV4 IPV6 GATEWAY}: attaches {@link Demo#nanoClawLike()} → {@code attached
 *       MILLISECONDS};
 *   <li>{@code detach} → {@code done};
 *   <li>{@code records}: the audit trail's refused packets → their count, then one line each.
 * </ul>
 *
 * A command that fails is answered {@code failed MESSAGE}. Arguments: the filter's address, the
 * container networks (comma-separated).
 */
public final class LabHost {
  private LabHost() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    InetAddress filterAddress = IpAddresses.parse(args[0]);
    List<IpNetwork> networks = Arrays.stream(args[1].split(",")).map(IpNetwork::parse).toList();
    List<AuditRecord.Refused> refused = new CopyOnWriteArrayList<>();
    Path auditFile = Files.createTempFile("egress-demo-audit", ".jsonl");
    try (AuditWriter writer = AuditWriter.builder(auditFile).build();
        DnsNameResolver resolver =
            DnsNameResolver.builder()
                .servers(List.of(new InetSocketAddress(NetnsLab.dnsServer(), 53)))
                .build();
        NftEgressEnforcer enforcer =
            NftEgressEnforcer.builder()
                .resolver(resolver)
                .guard(new NftGuard(List.of(NetnsLab.BRIDGE), networks, true))
                .dnsFilter(filterAddress)
                .audit(writer, refused::add)
                .build();
        DnsFilter filter =
            DnsFilter.builder()
                .attachments(enforcer)
                .resolver(resolver)
                .listen(new InetSocketAddress(filterAddress, 53))
                .start()) {
      out.println("ready");
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      @Nullable Attachment attachment = null;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        String[] words = line.split(" ");
        try {
          switch (words[0]) {
            case "attach" -> {
              long start = System.nanoTime();
              attachment =
                  enforcer.attach(
                      new ContainerEndpoint(
                          ContainerId.of(words[1]),
                          List.of(IpAddresses.parse(words[2]), IpAddresses.parse(words[3])),
                          IpAddresses.parse(words[4])),
                      Demo.nanoClawLike());
              out.println("attached " + (System.nanoTime() - start) / 1_000_000);
            }
            case "detach" -> {
              if (attachment == null) {
                throw new IllegalStateException("nothing is attached");
              }
              attachment.detach();
              out.println("done");
            }
            case "records" -> {
              out.println(refused.size());
              refused.forEach(record -> out.println(describe(record)));
            }
            default -> out.println("failed unknown command " + words[0]);
          }
        } catch (Exception e) {
          out.println("failed " + String.valueOf(e.getMessage()).replace('\n', ' '));
        }
      }
    } finally {
      Files.deleteIfExists(auditFile);
    }
  }

  /** A refused packet as {@code egressctl logs} would show it. */
  private static String describe(AuditRecord.Refused record) {
    RefusedPacket packet = record.packet();
    return String.format(
        "  %-16s %s -> %s %s%s  %s",
        record.container() == null ? "(none)" : record.container().value(),
        IpAddresses.format(packet.source()),
        IpAddresses.format(packet.destination()),
        packet.protocol().wireName(),
        packet.destinationPort() == null ? "" : "/" + packet.destinationPort(),
        record.reason().wireName());
  }
}
