package dev.egress.testkit.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.testkit.dns.ScriptedResolver.Reply;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class ScriptedResolverTest {

  @Test
  void addresses_areAnsweredByFamilyWithTheirTtl_andQueriesCounted() throws Exception {
    List<InetAddress> addresses =
        List.of(InetAddress.getByName("192.0.2.1"), InetAddress.getByName("2001:db8::1"));
    ScriptedResolver resolver =
        new ScriptedResolver(name -> Reply.addresses(Duration.ofSeconds(30), addresses));

    Message a = resolver.send(query("API.example.com.", Type.A));
    Message aaaa = resolver.send(query("api.example.com.", Type.AAAA));

    List<Record> answer = a.getSection(Section.ANSWER);
    assertEquals(1, answer.size());
    assertEquals(InetAddress.getByName("192.0.2.1"), ((ARecord) answer.get(0)).getAddress());
    assertEquals(30, answer.get(0).getTTL());
    assertEquals(Type.AAAA, aaaa.getSection(Section.ANSWER).get(0).getType());
    assertEquals(1, resolver.queries("api.example.com", Type.A));
    assertEquals(1, resolver.queries("api.example.com", Type.AAAA));
    assertEquals(2, resolver.queries());
  }

  @Test
  void errorCodes_timeoutsAndNetworkErrors_areReproduced() throws Exception {
    assertEquals(
        Rcode.SERVFAIL,
        new ScriptedResolver(name -> Reply.errorCode(Rcode.SERVFAIL))
            .send(query("x.example.", Type.A))
            .getRcode());
    ExecutionException timeout =
        assertThrows(
            ExecutionException.class,
            () ->
                new ScriptedResolver(name -> Reply.timeout())
                    .sendAsync(query("x.example.", Type.A))
                    .toCompletableFuture()
                    .get());
    assertTrue(timeout.getCause() instanceof TimeoutException);
    ExecutionException network =
        assertThrows(
            ExecutionException.class,
            () ->
                new ScriptedResolver(name -> Reply.networkError("unreachable"))
                    .sendAsync(query("x.example.", Type.A))
                    .toCompletableFuture()
                    .get());
    assertTrue(network.getCause() instanceof IOException);
    assertThrows(IllegalArgumentException.class, () -> Reply.errorCode(Rcode.NOERROR));
  }

  @Test
  void scriptByType_answersEachFamilyAsToldAndCountsBoth() throws Exception {
    InetAddress address = InetAddress.getByName("192.0.2.1");
    ScriptedResolver resolver =
        new ScriptedResolver(
            (name, type) ->
                type == Type.A
                    ? Reply.addresses(Duration.ofSeconds(5), List.of(address))
                    : Reply.errorCode(Rcode.REFUSED));

    assertEquals(
        1, resolver.send(query("dual.example.", Type.A)).getSection(Section.ANSWER).size());
    assertEquals(Rcode.REFUSED, resolver.send(query("dual.example.", Type.AAAA)).getRcode());
    assertEquals(1, resolver.queries("dual.example", Type.AAAA));
  }

  private static Message query(String name, int type) throws IOException {
    return Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
  }
}
