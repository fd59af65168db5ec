package dev.egress.daemon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.service.Counters;
import dev.egress.daemon.service.EgressService;
import dev.egress.daemon.service.EventHub;
import dev.egress.daemon.wire.Command;
import dev.egress.daemon.wire.ErrorCode;
import dev.egress.daemon.wire.Json;
import dev.egress.daemon.wire.Request;
import dev.egress.daemon.wire.RequestException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, served on one thread: the peer's credentials are checked first, then each
 * request line is read, carried out and answered before the next is read, so answers come in
 * request order. A line that cannot be matched to a request (too long, not UTF-8, not JSON, no
 * usable id) is answered with {@code "id": null} and ends the connection; any other refusal is
 * answered with the request's id and the connection goes on. After {@code subscribe} the connection
 * carries events only.
 */
final class Connection {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);

  /** How long a connection closed after an error waits for the client to close its side. */
  static final long LINGER_MILLIS = 2000;

  /** How much a connection closed after an error reads and drops meanwhile. */
  static final long LINGER_BYTES = 4 << 20;

  private final SocketChannel channel;
  private final Peers peers;
  private final int maxLineBytes;
  private final int subscriberQueue;
  private final EgressService service;
  private final EventHub events;
  private final Counters counters;
  private final ScheduledExecutorService timer;
  private final Clock clock;

  Connection(
      SocketChannel channel,
      Peers peers,
      int maxLineBytes,
      int subscriberQueue,
      EgressService service,
      EventHub events,
      Counters counters,
      ScheduledExecutorService timer,
      Clock clock) {
    this.channel = channel;
    this.peers = peers;
    this.maxLineBytes = maxLineBytes;
    this.subscriberQueue = subscriberQueue;
    this.service = service;
    this.events = events;
    this.counters = counters;
    this.timer = timer;
    this.clock = clock;
  }

  /** Serves the connection until either side ends it; closes the channel. Never throws. */
  void serve() {
    try (channel) {
      UnixDomainPrincipal peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
      if (!peers.allow(peer)) {
        log.warn("refused a connection: {}", peers.refusal(peer));
        write(
            channel,
            Json.error(
                null, new RequestException(ErrorCode.PERMISSION_DENIED, peers.refusal(peer))));
        lingerBeforeClose();
        return;
      }
      if (!serveRequests()) {
        lingerBeforeClose();
      }
    } catch (IOException e) {
      log.debug("connection ended: {}", e.toString());
    } catch (RuntimeException e) {
      log.error("connection failed", e);
    }
  }

  /**
   * Answers requests until the client closes or subscribes (true), or until a line that cannot be
   * matched to a request was answered (false): the caller then closes.
   */
  private boolean serveRequests() throws IOException {
    LineReader reader = new LineReader(channel, maxLineBytes);
    while (true) {
      LineReader.Result result = reader.next();
      if (result instanceof LineReader.Closed closed) {
        if (closed.inLine()) {
          log.debug("a client closed its connection in the middle of a request");
        }
        return true;
      }
      if (result instanceof LineReader.TooLong) {
        answerUnreadable(
            new RequestException(
                ErrorCode.INVALID_REQUEST,
                "the request line is longer than " + maxLineBytes + " bytes"));
        return false;
      }
      Request.Line line = Request.read(((LineReader.Line) result).bytes());
      if (line instanceof Request.Unreadable unreadable) {
        answerUnreadable(unreadable.reason());
        return false;
      }
      if (line instanceof Request.Refused refused) {
        answer(refused.id(), refused.reason());
        continue;
      }
      Request request = ((Request.Valid) line).request();
      Subscriber subscriber = null;
      byte[] answer;
      try {
        Command command = Command.of(request);
        Handler handler = new Handler();
        ObjectNode data = command.accept(handler);
        subscriber = handler.subscriber;
        answer = Json.answer(request.id(), data);
        counters.answered(false);
      } catch (RequestException e) {
        answer = Json.error(request.id(), e);
        counters.answered(true);
      } catch (RuntimeException e) {
        log.error("request {} failed unexpectedly", request.command(), e);
        answer =
            Json.error(
                request.id(),
                new RequestException(
                    ErrorCode.INTERNAL,
                    "egressd failed unexpectedly ("
                        + e.getClass().getSimpleName()
                        + "); this is a bug: see egressd's log"));
        counters.answered(true);
      }
      if (subscriber != null) {
        stream(subscriber, answer);
        return true;
      }
      write(channel, answer);
    }
  }

  /**
   * After a last answer, ends the connection so that the client reads that answer and then the end
   * of the stream: closing with requests unread would make the kernel reset the connection, and a
   * client may then never see the answer. So the sending side is shut, and what the client still
   * sends is read and dropped until it closes, for at most {@value #LINGER_MILLIS} ms and {@value
   * #LINGER_BYTES} bytes.
   */
  private void lingerBeforeClose() {
    ScheduledFuture<?> deadline =
        timer.schedule(this::closeQuietly, LINGER_MILLIS, TimeUnit.MILLISECONDS);
    try {
      channel.shutdownOutput();
      ByteBuffer sink = ByteBuffer.allocate(8192);
      long dropped = 0;
      int read;
      while (dropped < LINGER_BYTES && (read = channel.read(sink)) >= 0) {
        dropped += read;
        sink.clear();
      }
    } catch (IOException e) {
      log.debug("closing after an error: {}", e.toString());
    } finally {
      deadline.cancel(false);
    }
  }

  private void closeQuietly() {
    try {
      channel.close();
    } catch (IOException e) {
      log.debug("closing a connection: {}", e.toString());
    }
  }

  /** Carries out the commands; {@code subscribe} makes a subscriber that the caller then feeds. */
  private final class Handler implements Command.Handler<ObjectNode> {
    @Nullable Subscriber subscriber;

    @Override
    public ObjectNode version() {
      return service.version();
    }

    @Override
    public ObjectNode attach(Command.Attach attach) throws RequestException {
      return service.attach(attach);
    }

    @Override
    public ObjectNode update(Command.Update update) throws RequestException {
      return service.update(update);
    }

    @Override
    public ObjectNode detach(Command.Detach detach) throws RequestException {
      return service.detach(detach);
    }

    @Override
    public ObjectNode reconcile(Command.Reconcile reconcile) throws RequestException {
      return service.reconcile(reconcile);
    }

    @Override
    public ObjectNode status() {
      return service.status();
    }

    @Override
    public ObjectNode check(Command.Check check) {
      return service.check(check);
    }

    @Override
    public ObjectNode subscribe() {
      subscriber = new Subscriber(channel, subscriberQueue, timer, clock);
      ObjectNode data = Json.object();
      data.put("subscribed", true);
      return data;
    }
  }

  /**
   * Turns the connection into an event stream: registered before the answer is written, so no event
   * after the answer is missed. Lines the client still sends are read and dropped; its closing its
   * side ends the subscription.
   */
  private void stream(Subscriber subscriber, byte[] answer) {
    events.register(subscriber);
    counters.subscribers(1);
    Thread reader =
        new Thread(
            () -> {
              drain();
              subscriber.end();
            },
            "egressd-subscriber-input");
    reader.setDaemon(true);
    reader.start();
    try {
      subscriber.writeUntilEnd(answer);
    } finally {
      events.unregister(subscriber);
      counters.subscribers(-1);
    }
  }

  /** Reads and drops what a subscriber sends, until it closes its side or the channel closes. */
  private void drain() {
    ByteBuffer sink = ByteBuffer.allocate(4096);
    try {
      while (channel.read(sink) >= 0) {
        sink.clear();
      }
    } catch (IOException e) {
      log.debug("subscriber input ended: {}", e.toString());
    }
  }

  private void answer(JsonNode id, RequestException error) throws IOException {
    counters.answered(true);
    write(channel, Json.error(id, error));
  }

  private void answerUnreadable(RequestException error) throws IOException {
    counters.answered(true);
    write(channel, Json.error(null, error));
  }

  /** Writes all of {@code bytes}, blocking until the peer has taken them. */
  static void write(SocketChannel channel, byte[] bytes) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }
}
